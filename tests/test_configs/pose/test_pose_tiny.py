"""The tiny pose configs: CPU training, evaluation with mmpose's metrics, released checkpoints
through tools/test.py, and the top-down inference API."""
import json
import math
import re

import numpy as np
import pytest
import torch
from conftest import assert_loads_without_trust, run_tool
from helpers.pose import ROOT, TINY, released_layout, scalars, tiny_options


def train(name, tiny_data, work_dir, *options):
    """One epoch of the tiny config ``name`` through tools/train.py, evaluated at its end."""
    run_tool([
        'tools/train.py', TINY[name], '--work-dir',
        str(work_dir), '--cfg-options', *tiny_options(name, tiny_data), 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'default_hooks.logger.interval=1', *options
    ])
    logs = scalars(work_dir)
    losses = [s['loss'] for s in logs if 'loss' in s]
    metrics = [s for s in logs if 'loss' not in s and 'lr' not in s]
    return losses, metrics[-1]


def assert_loss_falls(losses, count):
    assert len(losses) == count and all(math.isfinite(v) for v in losses)
    quarter = count // 4
    first, last = np.mean(losses[:quarter]), np.mean(losses[-quarter:])
    assert last < first, f'loss {first:.4f} -> {last:.4f}: {losses}'


@pytest.fixture(scope='module')
def wholebody(tiny_data, tmp_path_factory):
    """TCFormerV2-Tiny + CR-MTA, 16 iterations on the tiny COCO-WholeBody set."""
    work_dir = tmp_path_factory.mktemp('tiny_wholebody')
    losses, metrics = train('wholebody', tiny_data, work_dir)
    return work_dir, losses, metrics


def test_wholebody_trains_and_evaluates(wholebody):
    work_dir, losses, metrics = wholebody
    assert_loss_falls(losses, 16)
    # CocoWholeBodyMetric (xtcocotools, per-part sigmas) with flip test on GT boxes; mmpose
    # returns the whole-body numbers (the parts are printed in its summary).
    for key in ('AP', 'AP .5', 'AP .75', 'AR', 'AR .5'):
        assert 0.0 <= metrics[f'coco-wholebody/{key}'] <= 1.0
    assert (work_dir / 'epoch_1.pth').exists()
    assert_loads_without_trust(work_dir)


def test_tools_test_evaluates_a_released_layout_checkpoint(wholebody, tiny_data, tmp_path):
    """The trained tiny model saved in the released (mmpose 0.x) layout: tools/test.py
    converts it (ReleasedCheckpointHook) and gets the validation numbers of training."""
    work_dir, _, metrics = wholebody
    ours = torch.load(work_dir / 'epoch_1.pth', map_location='cpu',
                      weights_only=False)['state_dict']
    path = tmp_path / 'released.pth'
    torch.save({'state_dict': released_layout(ours)}, path)
    result = run_tool([
        'tools/test.py', TINY['wholebody'],
        str(path), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *tiny_options('wholebody', tiny_data)
    ])
    log = result.stdout + result.stderr
    assert 'ReleasedCheckpointHook: converted' in log
    assert 'do not match exactly' not in log and 'missing keys' not in log
    for key in ('coco-wholebody/AP', 'coco-wholebody/AR'):
        match = re.search(re.escape(key) + r': ([\d.]+)', log)
        assert match, log[-3000:]
        assert float(match.group(1)) == pytest.approx(metrics[key], abs=1e-4)


def test_inference_topdown_on_a_box(wholebody, tiny_data, tmp_path):
    """mmpose.apis.inference_topdown with the tiny config and a converted released-layout
    checkpoint (tools/model_converters/tcformer_pose2mmpose.py), on an image with a box."""
    from mmpose.apis import inference_topdown, init_model

    work_dir = wholebody[0]
    ours = torch.load(work_dir / 'epoch_1.pth', map_location='cpu',
                      weights_only=False)['state_dict']
    released, converted = tmp_path / 'released.pth', tmp_path / 'converted.pth'
    torch.save({'state_dict': released_layout(ours)}, released)
    run_tool(['tools/model_converters/tcformer_pose2mmpose.py', str(released), str(converted)])
    model = init_model(str(ROOT / TINY['wholebody']), str(converted), device='cpu')
    for key, value in model.state_dict().items():
        if not key.startswith('data_preprocessor'):
            assert torch.equal(value, ours[key]), key

    data_root = tiny_data / 'coco_wholebody'
    ann = json.loads((data_root / 'annotations/coco_wholebody_val_v1.0.json').read_text())
    image = next(i for i in ann['images'] if i['id'] == ann['annotations'][0]['image_id'])
    x, y, w, h = ann['annotations'][0]['bbox']
    bbox = np.array([[x, y, x + w, y + h]], dtype=np.float32)
    [sample] = inference_topdown(model, str(data_root / 'val2017' / image['file_name']), bbox)
    keypoints = sample.pred_instances.keypoints
    scores = sample.pred_instances.keypoint_scores
    assert keypoints.shape == (1, 133, 2) and scores.shape == (1, 133)
    assert np.isfinite(keypoints).all() and np.isfinite(scores).all()
    # Heatmap maxima lie in the crop: the box at the aspect ratio 3:4, padded by 1.25.
    cx, cy = x + w / 2, y + h / 2
    side_h = max(h, w * 4 / 3) * 1.25
    side_w = side_h * 3 / 4
    assert (np.abs(keypoints[0, :, 0] - cx) <= side_w / 2 + 1).all()
    assert (np.abs(keypoints[0, :, 1] - cy) <= side_h / 2 + 1).all()
    np.testing.assert_allclose(sample.pred_instances.bboxes, bbox)


def test_rle_trains_and_evaluates(tiny_data, tmp_path):
    """TCFormerV2-Tiny + RLE on the tiny COCO keypoints (12 iterations), CocoMetric."""
    losses, metrics = train('rle', tiny_data, tmp_path, 'train_dataloader.dataset.indices=96')
    assert_loss_falls(losses, 12)
    for key in ('coco/AP', 'coco/AP .5', 'coco/AR'):
        assert 0.0 <= metrics[key] <= 1.0
    assert_loads_without_trust(tmp_path)


def test_wflw_trains_and_evaluates(tiny_data, tmp_path):
    """TCFormer-Light + MTA on the tiny WFLW set (12 iterations), NME with flip test."""
    losses, metrics = train('wflw', tiny_data, tmp_path, 'train_dataloader.dataset.indices=96')
    assert_loss_falls(losses, 12)
    assert 0.0 < metrics['NME'] < 10.0, metrics
    assert_loads_without_trust(tmp_path)
