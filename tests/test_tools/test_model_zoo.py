"""The README's model zoo is generated from the metafiles, and every entry points at a config."""
import yaml
from conftest import ROOT, run_tool


def test_every_metafile_entry_has_its_config():
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    names = set()
    for metafile in index['Import']:
        for model in yaml.safe_load((ROOT / metafile).read_text())['Models']:
            assert (ROOT / model['Config']).is_file(), model['Config']
            assert model['Name'] not in names, f'duplicate model name {model["Name"]}'
            names.add(model['Name'])
    configs = {p.relative_to(ROOT).as_posix() for p in ROOT.glob('configs/*/tcformer/*.py')}
    listed = {
        m['Config']
        for f in index['Import']
        for m in yaml.safe_load((ROOT / f).read_text())['Models']
    }
    assert configs == listed, f'configs without a metafile entry: {sorted(configs - listed)}'


def test_readme_zoo_matches_metafiles(tmp_path):
    assert run_tool(['tools/misc/model_zoo.py', '--check', 'README.md'],
                    check=False).returncode == 0
    stale = tmp_path / 'README.md'
    stale.write_text((ROOT / 'README.md').read_text().replace('| 25.59 |', '| 25.60 |', 1))
    result = run_tool(['tools/misc/model_zoo.py', '--check', str(stale)], check=False)
    assert result.returncode == 1 and 'differs from the metafiles' in result.stderr
