"""The README is a short index, and the docs name only files and links that exist."""
import re

import pytest
from conftest import ROOT

DOCS = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('*.md'))

#: A repository path of a Python file: not part of a longer path (``projects/x/tools/y.py``).
PY_PATH = re.compile(r'(?<![\w./-])((?:tcformer_mm|tools|configs)/[\w./-]+\.py)(?!\w)')
#: The target of a markdown link or image, without its anchor.
LINK = re.compile(r'\]\(([^)\s#]+)(?:#[^)\s]*)?\)')


def _name(path):
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize('doc', DOCS, ids=_name)
def test_named_python_files_exist(doc):
    named = set(PY_PATH.findall(doc.read_text(encoding='utf-8')))
    missing = sorted(p for p in named if not (ROOT / p).is_file())
    assert not missing, f'{_name(doc)} names files that do not exist: {missing}'


@pytest.mark.parametrize('doc', DOCS, ids=_name)
def test_relative_links_resolve(doc):
    targets = set(LINK.findall(doc.read_text(encoding='utf-8')))
    local = [t for t in targets if not re.match(r'[a-z]+:', t)]
    missing = sorted(t for t in local if not (doc.parent / t).exists())
    assert not missing, f'{_name(doc)} links to paths that do not exist: {missing}'


def test_readme_is_short_and_shows_the_quick_start():
    lines = (ROOT / 'README.md').read_text(encoding='utf-8').splitlines()
    assert len(lines) <= 200, f'README.md has {len(lines)} lines; the details belong in docs/'
    in_code, commands = False, set()
    for line in lines:
        if line.startswith('```'):
            in_code = not in_code
        elif in_code:
            commands.add(line.strip())
    assert {'make demo', 'make test'} <= commands
