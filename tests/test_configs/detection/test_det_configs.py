"""The Table VII configs: recipe, parameter counts, train and test forward at a small size."""
import pytest
import torch
from helpers.detection import one_thread  # noqa: F401  (autouse: one intra-op thread)
from helpers.detection import (CONFIG_DIR, TABLE_VII_PARAMS, batch, build_detector, load_config,
                               loss_step, num_params, predict)

CONFIGS = sorted(TABLE_VII_PARAMS)


def test_every_config_is_covered():
    on_disk = sorted(p.name for p in CONFIG_DIR.glob('*.py'))
    assert on_disk == CONFIGS


@pytest.mark.parametrize('name', CONFIGS)
def test_recipe(name):
    """mmdet's COCO recipes with AdamW at 1e-4 (TPAMI section 4.4), 8 GPUs x 2 images."""
    cfg = load_config(CONFIG_DIR / name)
    assert cfg.default_scope == 'mmdet'
    assert cfg.custom_imports.imports == ['tcformer_mm']
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-4, weight_decay=1e-4)
    assert cfg.train_dataloader.batch_size == 2 and cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.model.data_preprocessor.pad_size_divisor == 32
    arch = {'-t_': 'v2-tiny', '-s_': 'v2-small', '-b_': 'v2-base'}
    [expected_arch] = [a for key, a in arch.items() if key in name]
    backbone, neck = cfg.model.backbone, cfg.model.neck
    assert backbone.type == 'TCFormer' and backbone.arch == expected_arch
    assert backbone.output_format == 'tokens'
    assert expected_arch.split('-')[1] in backbone.init_cfg.checkpoint
    assert neck.type == 'MTA' and neck.kv_reduction == 'cr' and neck.num_outs == 5
    assert neck.add_extra_convs == 'on_input'
    if name.startswith('retinanet'):
        assert cfg.model.type == 'RetinaNet' and neck.start_level == 1
        assert cfg.val_evaluator.metric == 'bbox'
    else:
        assert cfg.model.type == 'MaskRCNN' and neck.get('start_level', 0) == 0
        assert cfg.val_evaluator.metric == ['bbox', 'segm']
    pipeline = [t.type for t in cfg.train_pipeline]
    if '_3x_' in name:
        # mmdet's multi-scale 3x: short side 640-800, the train set repeated 3 times, 12 epochs.
        dataset = cfg.train_dataloader.dataset
        assert dataset.type == 'RepeatDataset' and dataset.times == 3
        resize = cfg.train_pipeline[pipeline.index('RandomResize')]
        assert resize.scale == [(1333, 640), (1333, 800)]
        assert cfg.param_scheduler[1].milestones == [9, 11]
    else:
        assert 'Resize' in pipeline and cfg.train_dataloader.dataset.type == 'CocoDataset'
        assert cfg.param_scheduler[1].milestones == [8, 11]
    assert cfg.train_cfg.max_epochs == 12


@pytest.fixture(scope='module', params=CONFIGS)
def detector(request):
    return request.param, build_detector(CONFIG_DIR / request.param, init_weights=False)


def test_parameter_count(detector):
    name, model = detector
    params = num_params(model) / 1e6
    assert abs(params - TABLE_VII_PARAMS[name]) < 0.05, f'{name}: {params:.3f}M'


def test_train_and_test_forward(detector):
    """Losses in train mode and predictions in test mode, for a batch of two sizes.

    The Tiny configs also back-propagate: every parameter gets a gradient (as DDP without
    find_unused_parameters requires); the larger ones differ only in depth and MLP ratio.
    """
    name, model = detector
    with_mask = name.startswith('mask-rcnn')
    backward = '-t_' in name
    data = batch([(64, 80, [[8, 8, 40, 48], [44, 20, 76, 60]], [0, 79]),
                  (70, 64, [[10, 30, 50, 66]], [5])],
                 with_mask=with_mask)
    model.zero_grad()
    losses, shape = loss_step(model, data, backward=backward)
    assert shape == (2, 3, 96, 96)  # padded to the larger image, then to a multiple of 32
    assert torch.isfinite(losses['loss']) and losses['loss'] > 0
    expected = ({'loss_cls', 'loss_bbox'} if not with_mask else
                {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask', 'acc'})
    assert expected <= set(losses)
    if backward:
        no_grad = [n for n, p in model.named_parameters() if p.grad is None]
        assert not no_grad, no_grad[:5]

    results, shape = predict(model, data)
    assert shape == (2, 3, 96, 96) and len(results) == 2
    for result, (h, w) in zip(results, [(64, 80), (70, 64)]):
        pred = result.pred_instances
        n = len(pred)
        assert pred.bboxes.shape == (n, 4) and pred.scores.shape == pred.labels.shape == (n, )
        assert result.ori_shape == (h, w)
        if n:
            assert (pred.bboxes[:, 2] <= w + 1e-3).all() and (pred.bboxes[:, 3] <= h + 1e-3).all()
        if with_mask:
            assert tuple(pred.masks.shape) == (n, h, w)
