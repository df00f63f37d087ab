"""The tiny Semantic FPN and Mask2Former configs: CPU training, IoUMetric, the inferencers."""
import json

import numpy as np
import pytest
from conftest import assert_loads_without_trust, data_root_options, run_script, run_tool
from helpers.segmentation import TINY_FPN, TINY_MASK2FORMER, ade_val_labels, constant_predictor_miou

NO_WORKERS = [
    f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
]


def ade_root(tiny_data):
    return tiny_data / 'ade' / 'ADEChallengeData2016'


def train(config, tiny_data, work_dir):
    """tools/train.py on the tiny set, logging every iteration; the evaluation at the end."""
    run_tool([
        'tools/train.py', config, '--work-dir',
        str(work_dir), '--cfg-options', *data_root_options(ade_root(tiny_data)),
        'default_hooks.logger.interval=1', *NO_WORKERS
    ])
    [log] = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1:]
    logs = [json.loads(line) for line in log.read_text().splitlines()]
    losses = [s['loss'] for s in logs if 'loss' in s]
    [miou] = [s['mIoU'] for s in logs if 'mIoU' in s]
    return losses, miou


@pytest.fixture(scope='module')
def chance(tiny_data):
    """The best constant predictor's mIoU on the tiny validation set (about 12%)."""
    return constant_predictor_miou(ade_val_labels(ade_root(tiny_data)))


@pytest.fixture(scope='module')
def trained_fpn(tiny_data, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('tiny_fpn')
    return work_dir, *train(TINY_FPN, tiny_data, work_dir)


def _assert_learned(losses, miou, chance, iters, margin):
    assert len(losses) == iters
    n = iters // 4
    first, last = sum(losses[:n]) / n, sum(losses[-n:]) / n
    assert last < 0.8 * first, f'loss {first:.3f} -> {last:.3f}'
    assert miou > chance + margin, f'mIoU {miou} vs constant predictor {chance:.2f}'


def test_semantic_fpn_learns(trained_fpn, chance):
    work_dir, losses, miou = trained_fpn
    _assert_learned(losses, miou, chance, iters=40, margin=10)
    assert (work_dir / 'iter_40.pth').exists()
    assert_loads_without_trust(work_dir)


def test_mask2former_learns(tiny_data, tmp_path, chance):
    losses, miou = train(TINY_MASK2FORMER, tiny_data, tmp_path)
    _assert_learned(losses, miou, chance, iters=60, margin=10)
    assert_loads_without_trust(tmp_path)


def test_inferencers_segment_an_image(trained_fpn, tiny_data):
    """MMSegInferencer and inference_model in a fresh process: the config's custom_imports
    load our modules; the prediction has the image's size and beats the majority class."""
    work_dir = trained_fpn[0]
    images = sorted((ade_root(tiny_data) / 'images' / 'validation').glob('*.jpg'))[:4]
    script = ('import sys, json\n'
              'import numpy as np\n'
              'from mmseg.apis import MMSegInferencer, inference_model, init_model\n'
              'assert "tcformer_mm" not in sys.modules\n'
              f'config, weights, images = {TINY_FPN!r}, {str(work_dir / "iter_40.pth")!r}, '
              f'{[str(p) for p in images]!r}\n'
              'inferencer = MMSegInferencer(model=config, weights=weights, device="cpu")\n'
              'preds = [np.asarray(p) for p in inferencer(images)["predictions"]]\n'
              'model = init_model(config, weights, device="cpu")\n'
              'direct = [r.pred_sem_seg.data[0].numpy() for r in inference_model(model, images)]\n'
              'print(json.dumps([[p.tolist() for p in preds], [d.tolist() for d in direct]]))\n')
    preds, direct = run_script(script)
    labels = ade_val_labels(ade_root(tiny_data))[:4]
    for pred, same, label in zip(preds, direct, labels):
        pred = np.array(pred)
        assert pred.shape == label.shape == (128, 128)
        np.testing.assert_array_equal(pred, np.array(same))
        valid = label != 255
        accuracy = (pred[valid] == label[valid]).mean()
        majority = np.bincount(label[valid]).max() / valid.sum()
        assert accuracy > majority, f'pixel accuracy {accuracy:.3f} vs majority {majority:.3f}'
