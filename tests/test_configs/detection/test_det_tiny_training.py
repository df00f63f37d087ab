"""The tiny RetinaNet and Mask R-CNN configs: CPU training, CocoMetric, tools/test.py and the
mmdet inferencers, on the generated tiny COCO set."""
import json
import re

import pytest
from conftest import assert_loads_without_trust, data_root_options, run_script, run_tool
from helpers.detection import TINY_MASK_RCNN, TINY_RETINANET

NO_WORKERS = [
    f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
]
# One intra-op thread: the token transforms' index_add_ is many times slower with two threads
# when the two cores are shared with other jobs.
ENV = dict(OMP_NUM_THREADS='1')


def coco_options(coco):
    ann_file = coco / 'annotations' / 'instances_val2017.json'
    return [
        *data_root_options(coco), f'val_evaluator.ann_file={ann_file}',
        f'test_evaluator.ann_file={ann_file}', *NO_WORKERS
    ]


def scalars(work_dir):
    """The json lines mmengine's logger wrote, in order."""
    [log] = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1:]
    return [json.loads(line) for line in log.read_text().splitlines()]


def train(config, tiny_data, work_dir):
    options = [*coco_options(tiny_data / 'coco'), 'default_hooks.logger.interval=4']
    args = ['tools/train.py', config, '--work-dir', str(work_dir), '--cfg-options', *options]
    run_tool(args, env=ENV)
    return work_dir


@pytest.fixture(scope='module')
def trained_retinanet(tiny_data, tmp_path_factory):
    return train(TINY_RETINANET, tiny_data, tmp_path_factory.mktemp('tiny_retinanet'))


@pytest.fixture(scope='module')
def trained_mask_rcnn(tiny_data, tmp_path_factory):
    return train(TINY_MASK_RCNN, tiny_data, tmp_path_factory.mktemp('tiny_mask_rcnn'))


def loss_drop(logs, key='loss'):
    losses = [s[key] for s in logs if key in s]
    quarter = max(1, len(losses) // 4)
    return sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter


def test_retinanet_learns(trained_retinanet):
    logs = scalars(trained_retinanet)
    first, last = loss_drop(logs)
    assert last < first * 0.85, f'loss {first:.3f} -> {last:.3f}'
    [metrics] = [s for s in logs if 'coco/bbox_mAP' in s]
    # Box AP of the real CocoMetric on the 32 validation images, after a few dozen iterations
    # from scratch: clearly above zero.
    assert metrics['coco/bbox_mAP_50'] > 0.02 and metrics['coco/bbox_mAP'] > 0.0, metrics
    assert_loads_without_trust(trained_retinanet)


def test_mask_rcnn_learns(trained_mask_rcnn):
    logs = scalars(trained_mask_rcnn)
    first, last = loss_drop(logs)
    assert last < first * 0.7, f'loss {first:.3f} -> {last:.3f}'
    for key in ('loss_rpn_cls', 'loss_mask'):
        first, last = loss_drop(logs, key)
        assert last < first, (key, first, last)
    [metrics] = [s for s in logs if 'coco/bbox_mAP' in s]
    assert metrics['coco/bbox_mAP'] > 0.05 and metrics['coco/segm_mAP'] > 0.05, metrics
    assert_loads_without_trust(trained_mask_rcnn)


def test_tools_test_evaluates_the_checkpoint(trained_mask_rcnn, tiny_data):
    """tools/test.py reproduces the validation metrics of the saved checkpoint."""
    [checkpoint] = trained_mask_rcnn.glob('iter_*.pth')
    work_dir = str(trained_mask_rcnn / 'test')
    args = ['tools/test.py', TINY_MASK_RCNN, str(checkpoint), '--work-dir', work_dir]
    result = run_tool([*args, '--cfg-options', *coco_options(tiny_data / 'coco')], env=ENV)
    output = result.stdout + result.stderr
    box = re.search(r'coco/bbox_mAP: ([\d.]+)', output)
    mask = re.search(r'coco/segm_mAP: ([\d.]+)', output)
    [metrics] = [s for s in scalars(trained_mask_rcnn) if 'coco/bbox_mAP' in s]
    assert box and mask, output[-3000:]
    assert float(box.group(1)) == pytest.approx(metrics['coco/bbox_mAP'], abs=1e-3)
    assert float(mask.group(1)) == pytest.approx(metrics['coco/segm_mAP'], abs=1e-3)


def test_inferencers_detect_shapes(trained_mask_rcnn, tiny_data):
    """DetInferencer and init_detector/inference_detector, in a fresh process: the config's
    custom_imports load our modules; the trained model finds the drawn shapes."""
    [checkpoint] = trained_mask_rcnn.glob('iter_*.pth')
    annotations = json.loads(
        (tiny_data / 'coco' / 'annotations' / 'instances_val2017.json').read_text())
    counts = {}
    for ann in annotations['annotations']:
        counts[ann['image_id']] = counts.get(ann['image_id'], 0) + 1
    images = [img for img in annotations['images'] if counts.get(img['id'], 0) > 0][:4]
    paths = [str(tiny_data / 'coco' / 'val2017' / img['file_name']) for img in images]
    script = ('import sys, json\n'
              'from mmdet.apis import DetInferencer, inference_detector, init_detector\n'
              'assert "tcformer_mm" not in sys.modules\n'
              f'inferencer = DetInferencer(model={TINY_MASK_RCNN!r}, weights={str(checkpoint)!r}, '
              'device="cpu", show_progress=False)\n'
              f'out = inferencer({paths!r}, no_save_pred=True)\n'
              'first = [[len(p["labels"]), len(p["masks"]), max(p["scores"], default=0)]'
              ' for p in out["predictions"]]\n'
              f'model = init_detector({TINY_MASK_RCNN!r}, {str(checkpoint)!r}, device="cpu")\n'
              f'results = inference_detector(model, {paths!r})\n'
              'second = [[len(r.pred_instances), tuple(r.pred_instances.masks.shape[1:]),'
              ' float(r.pred_instances.scores.max()) if len(r.pred_instances) else 0.0]'
              ' for r in results]\n'
              'print(json.dumps(dict(first=first, second=second,'
              ' classes=model.dataset_meta["classes"])))\n')
    out = run_script(script, env=ENV)
    assert out['classes'] == ['circle', 'square', 'triangle']
    assert len(out['first']) == len(out['second']) == len(paths) == 4
    for (n, n_masks, top), (m, mask_shape, top2), img in zip(out['first'], out['second'], images):
        assert n == n_masks and n > 0 and top > 0.3
        assert m > 0 and mask_shape == [img['height'], img['width']]
        assert top2 == pytest.approx(top, abs=1e-4)
