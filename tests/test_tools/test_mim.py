"""Packaging for OpenMMLab's mim: a non-editable install carries configs, tools, model index.

The wheel is built from a copy of the sources and installed into a throw-away directory that
goes first on PYTHONPATH, so the project's own environment is not touched and mim sees the
installed copy (``<target>/tcformer_mm/.mim``), not the working tree.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_tool

MIM = str(Path(sys.executable).with_name('mim'))
TINY_CONFIG = 'tcformerv2-tiny_1xb16_tiny-cls.py'


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """``pip install`` of a wheel of the sources into a target dir; returns that dir."""
    tmp = tmp_path_factory.mktemp('mim')
    src = tmp / 'src'
    ignore = shutil.ignore_patterns('.mim', '__pycache__', '*.pyc')
    for name in ('tcformer_mm', 'configs', 'tools', 'requirements'):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ('setup.py', 'setup.cfg', 'README.md', 'model-index.yml'):
        shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q']
    subprocess.run(pip +
                   ['wheel', '.', '--no-deps', '--no-build-isolation', '-w',
                    str(tmp / 'wheel')],
                   cwd=src,
                   check=True,
                   capture_output=True)
    wheel, = (tmp / 'wheel').glob('tcformer_mm-*.whl')
    site = tmp / 'site'
    subprocess.run(pip + ['install', '--no-deps', '--target',
                          str(site), str(wheel)],
                   check=True,
                   capture_output=True)
    return site


def run_mim(args, site, cwd):
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONUNBUFFERED='1')
    result = subprocess.run([MIM] + args,
                            cwd=cwd,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, f'mim {args[0]} failed:\n{result.stdout[-4000:]}\n' \
                                   f'{result.stderr[-4000:]}'
    return result.stdout + result.stderr


def test_wheel_carries_configs_tools_and_model_index(installed):
    mim_dir = installed / 'tcformer_mm' / '.mim'
    for path in ('tools/train.py', 'tools/test.py', 'tools/visualization/vis_tokens.py',
                 'tools/deployment/pytorch2onnx.py', 'configs/tiny/' + TINY_CONFIG,
                 'model-index.yml'):
        assert (mim_dir / path).is_file(), path
    # Real copies, not links into a source tree that may go away.
    assert not (mim_dir / 'configs').is_symlink()
    index = yaml.safe_load((mim_dir / 'model-index.yml').read_text())
    for metafile in index['Import']:
        assert (mim_dir / metafile).is_file(), metafile
    # The installed package is the one Python imports with this PYTHONPATH.
    out = subprocess.run([sys.executable, '-c', 'import tcformer_mm; print(tcformer_mm.__file__)'],
                         env=dict(os.environ, PYTHONPATH=str(installed)),
                         cwd=installed.parent,
                         capture_output=True,
                         text=True,
                         check=True).stdout
    assert out.strip() == str(installed / 'tcformer_mm' / '__init__.py')


def test_model_index_lists_every_metafile():
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    listed = sorted(index['Import'])
    found = sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'configs').rglob('metafile.yml'))
    assert listed == found


def test_mim_train_and_test_resolve_installed_configs(installed, tmp_path):
    data = tmp_path / 'data'
    run_tool([
        'tools/dataset_converters/make_tiny_datasets.py', '--out',
        str(data), '--only', 'imagenet', '--num-train', '16', '--num-val', '8'
    ])
    options = [
        f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
        for key in (f'dataset.data_root={data / "imagenet"}', 'num_workers=0',
                    'persistent_workers=False')
    ]
    work_dir = tmp_path / 'work'
    cwd = tmp_path / 'elsewhere'  # no configs/ or tools/ here: mim must find them
    cwd.mkdir()
    out = run_mim([
        'train', 'tcformer_mm', TINY_CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        *options
    ], installed, cwd)
    mim_dir = installed / 'tcformer_mm' / '.mim'
    assert f'will use {mim_dir}/configs/tiny/{TINY_CONFIG} instead' in out
    assert f'{mim_dir}/tools/train.py' in out
    assert 'Epoch(train) [1][1/1]' in out and 'accuracy/top1' in out
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()

    out = run_mim([
        'test', 'tcformer_mm', TINY_CONFIG, '--checkpoint',
        str(checkpoint), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *options
    ], installed, cwd)
    assert f'{mim_dir}/tools/test.py' in out
    assert 'Epoch(test) [1/1]' in out and 'accuracy/top1' in out


def test_mim_search_lists_the_model_zoo(installed, tmp_path):
    out = run_mim(['search', 'tcformer_mm'], installed, tmp_path)
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    models = [
        m for metafile in index['Import']
        for m in yaml.safe_load((ROOT / metafile).read_text())['Models']
    ]
    assert models
    for model in models:
        assert f'config id: {model["Name"]}' in out


def test_editable_install_resolves_through_mim():
    """The environment tools/install.sh made (editable): mim's package lookup finds our
    configs and tools, from any working directory."""
    code = ('from mim.utils import get_installed_path; '
            'print(get_installed_path("tcformer_mm"))')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    out = subprocess.run([sys.executable, '-c', code],
                         cwd='/',
                         env=env,
                         capture_output=True,
                         text=True,
                         check=True).stdout.strip()
    mim_dir = Path(out) / '.mim'
    assert (mim_dir / 'configs' / 'tiny' / TINY_CONFIG).is_file(), mim_dir
    assert (mim_dir / 'tools' / 'train.py').is_file() and (mim_dir / 'tools' / 'test.py').is_file()
    # ... and they are the working tree's files (edits show without reinstalling).
    assert (mim_dir / 'tools' / 'train.py').resolve() == (ROOT / 'tools' / 'train.py').resolve()
