"""tools/dist_train.sh and dist_test.sh with 2 CPU processes (gloo), resume included."""
import json
import pickle
import re

import pytest
from conftest import data_root_options, free_port, run_tool

CONFIG = 'configs/tiny/resnet18_1xb16_tiny-cls.py'


def scalars(work_dir):
    """The json lines mmengine's logger wrote during training, in order."""
    [log] = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1:]
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.timeout(900)
def test_dist_train_resume_test(tiny_data, tmp_path):
    work_dir = tmp_path / 'work'
    opts = data_root_options(tiny_data / 'imagenet') + ['train_cfg.max_epochs=1'] + [
        f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
        for key in ('num_workers=0', 'persistent_workers=False')
    ]
    env = dict(PORT=str(free_port()))
    run_tool(
        ['tools/dist_train.sh', CONFIG, '2', '--work-dir',
         str(work_dir), '--cfg-options', *opts],
        env=env)
    assert (work_dir / 'epoch_1.pth').exists()
    first = [s for s in scalars(work_dir) if 'loss' in s]
    assert first, 'no training iteration was logged'
    last_iter = first[-1]['iter']

    opts[opts.index('train_cfg.max_epochs=1')] = 'train_cfg.max_epochs=2'
    env = dict(PORT=str(free_port()))
    result = run_tool([
        'tools/dist_train.sh', CONFIG, '2', '--work-dir',
        str(work_dir), '--resume', '--cfg-options', *opts
    ],
                      env=env)
    out = result.stdout + result.stderr
    assert 'gloo' in out
    assert re.search(r'resumed epoch: 1, iter: \d+', out), out[-3000:]
    assert (work_dir / 'epoch_2.pth').exists()
    resumed = [s for s in scalars(work_dir) if 'loss' in s]
    assert resumed and resumed[0]['iter'] > last_iter and resumed[0]['epoch'] == 2

    env = dict(PORT=str(free_port()))
    result = run_tool([
        'tools/dist_test.sh', CONFIG,
        str(work_dir / 'epoch_2.pth'), '2', '--work-dir',
        str(tmp_path / 'test'), '--show-dir',
        str(tmp_path / 'painted'), '--out',
        str(tmp_path / 'preds.pkl'), '--cfg-options', *opts
    ],
                      env=env)
    out = result.stdout + result.stderr
    match = re.search(r'accuracy/top1: ([\d.]+)', out)
    assert match, out[-3000:]
    assert 0.0 <= float(match.group(1)) <= 100.0
    assert list((tmp_path / 'painted').glob('*.png')), 'no painted prediction'
    with open(tmp_path / 'preds.pkl', 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 32 and all('pred_label' in p for p in predictions)


def test_launcher_finds_the_environment(tiny_data, tmp_path):
    """Without PYTHON, and without the environment's python on PATH, dist_train.sh runs the
    interpreter tools/install.sh installs into (the command of docs/tools.md as written)."""
    result = run_tool([
        'tools/dist_train.sh', CONFIG, '1', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
        'train_dataloader.dataset.indices=16', *data_root_options(tiny_data / 'imagenet')
    ],
                      env=dict(PYTHON='', PATH='/usr/bin:/bin', PORT=str(free_port())))
    assert 'No module named' not in result.stderr
    assert 'Checkpoints will be saved to' in result.stdout + result.stderr
