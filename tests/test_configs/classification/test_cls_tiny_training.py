"""The tiny TCFormerV2-Tiny config: CPU training, gloo, evaluation and the inferencer."""
import json
import re

import pytest
from conftest import assert_loads_without_trust, data_root_options, free_port, run_script, run_tool
from helpers.classification import TINY_CONFIG

NO_WORKERS = [
    f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
]


def scalars(work_dir):
    """The json lines mmengine's logger wrote, in order."""
    [log] = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1:]
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(scope='module')
def trained(tiny_data, tmp_path_factory):
    """Train the tiny config for 4 epochs (32 iterations) through tools/train.py."""
    work_dir = tmp_path_factory.mktemp('tiny_cls')
    run_tool([
        'tools/train.py', TINY_CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', *data_root_options(tiny_data / 'imagenet'),
        'train_cfg.max_epochs=4', 'default_hooks.logger.interval=1', *NO_WORKERS
    ])
    return work_dir


def test_loss_falls_and_accuracy_beats_chance(trained):
    logs = scalars(trained)
    losses = [s['loss'] for s in logs if 'loss' in s]
    assert len(losses) == 32
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < first - 0.1, f'loss {first:.3f} -> {last:.3f}'
    [accuracy] = [s['accuracy/top1'] for s in logs if 'accuracy/top1' in s]
    assert accuracy > 25.0 + 15.0, f'top-1 {accuracy} on 4 balanced classes'
    assert (trained / 'epoch_4.pth').exists()
    assert_loads_without_trust(trained)


def test_tools_test_evaluates_the_checkpoint(trained, tiny_data):
    result = run_tool([
        'tools/test.py', TINY_CONFIG,
        str(trained / 'epoch_4.pth'), '--work-dir',
        str(trained / 'test'), '--cfg-options', *data_root_options(tiny_data / 'imagenet'),
        *NO_WORKERS
    ])
    match = re.search(r'accuracy/top1: ([\d.]+)', result.stdout + result.stderr)
    assert match and float(match.group(1)) > 40.0


def test_inferencer_classifies_an_image(trained, tiny_data):
    """mmpretrain's inferencer, in a fresh process: the config's custom_imports load our model."""
    images = sorted((tiny_data / 'imagenet' / 'val').glob('*/*.JPEG'))
    script = ('import sys, json\n'
              'from mmpretrain import ImageClassificationInferencer\n'
              'assert "tcformer_mm" not in sys.modules\n'
              f'inferencer = ImageClassificationInferencer(model={TINY_CONFIG!r}, '
              f'pretrained={str(trained / "epoch_4.pth")!r}, device="cpu")\n'
              f'results = inferencer({[str(p) for p in images]!r})\n'
              'print(json.dumps([[r["pred_label"], r["pred_class"], r["pred_score"]] '
              'for r in results]))\n')
    predictions = run_script(script)
    assert len(predictions) == len(images) == 32
    classes = ('circle', 'square', 'triangle', 'cross')
    assert all(classes[label] == name and 0 < score <= 1 for label, name, score in predictions)
    correct = sum(name == path.parent.name for (_, name, _), path in zip(predictions, images))
    assert correct > 8 + 5, f'{correct}/32 correct'


@pytest.mark.timeout(600)
def test_dist_train_gloo(tiny_data, tmp_path):
    """Two CPU processes through tools/dist_train.sh (gloo), one epoch."""
    work_dir = tmp_path / 'work'
    result = run_tool([
        'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir',
        str(work_dir), '--cfg-options', *data_root_options(tiny_data / 'imagenet'),
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1', *NO_WORKERS
    ],
                      env=dict(PORT=str(free_port())))
    assert 'gloo' in result.stdout + result.stderr
    assert (work_dir / 'epoch_1.pth').exists()
    losses = [s['loss'] for s in scalars(work_dir) if 'loss' in s]
    # 128 images, 2 processes x 16 per iteration.
    assert len(losses) == 4 and all(loss > 0 for loss in losses)
