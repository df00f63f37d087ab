"""MTA / CR-MTA neck: shapes, reductions, gradients, batching, and the real consumers."""
import pytest
import torch
from mmengine.structures import InstanceData

from tcformer_mm.models import MTA, TCFormer

IN_CHANNELS = [64, 128, 320, 512]
REDUCTIONS = ['sr', 'pool', 'cr']


@pytest.fixture(scope='module')
def backbone():
    torch.manual_seed(0)
    return TCFormer('v2-tiny', output_format='tokens').eval()


@pytest.fixture(scope='module')
def tokens(backbone):
    torch.manual_seed(1)
    with torch.no_grad():
        return backbone(torch.randn(2, 3, 96, 80))


def test_neck_parameter_counts():
    """The neck's own parameters per reduction (TPAMI Table VIII needs SR > pool/CR)."""
    counts = {
        (red, mlp):
        sum(p.numel()
            for p in MTA(IN_CHANNELS, 256, 4, mlp_ratios=mlp, kv_reduction=red).parameters())
        for red in REDUCTIONS
        for mlp in (1, 4)
    }
    assert counts[('sr', 1)] == 6_966_272 and counts[('pool', 1)] == 1_458_944
    assert counts[('sr', 4)] == 8_173_568 and counts[('pool', 4)] == 2_666_240
    # CR: the pool-sized neck plus a Linear(256, 256) + LayerNorm per merge block.
    assert counts[('cr', 1)] - counts[('pool', 1)] == 3 * (256 * 256 + 256 + 2 * 256)


def test_cr_merge_alone_has_no_parameters():
    """Without its projection, CR-MTA has exactly the parameters of a reduction-free MTA."""
    cr = MTA(IN_CHANNELS, 256, 4, mlp_ratios=1, kv_reduction='cr', cr_projection=False)
    pool = MTA(IN_CHANNELS, 256, 4, mlp_ratios=1, kv_reduction='pool')
    assert [n for n, _ in cr.named_parameters()] == [n for n, _ in pool.named_parameters()]


@pytest.mark.parametrize('kv_reduction', REDUCTIONS)
def test_cr_has_no_spatial_reduction(kv_reduction):
    neck = MTA(IN_CHANNELS, 64, 4, kv_reduction=kv_reduction)
    names = {n for n, _ in neck.named_parameters()}
    has_sr = any('.attn.sr.' in n for n in names)
    has_cr = any('.attn.cr.' in n for n in names)
    assert has_sr == (kv_reduction == 'sr')
    assert has_cr == (kv_reduction == 'cr')


@pytest.mark.parametrize('num_outs,extra', [(4, False), (5, False), (5, 'on_input'),
                                            (5, 'on_lateral'), (5, 'on_output'), (6, True)])
def test_output_shapes_and_strides(tokens, num_outs, extra):
    neck = MTA(IN_CHANNELS,
               32,
               num_outs,
               add_extra_convs=extra,
               kv_reduction='cr',
               relu_before_extra_convs=True).eval()
    with torch.no_grad():
        outs = neck(tokens)
    assert len(outs) == num_outs
    expected = [(24, 20), (12, 10), (6, 5), (3, 3), (2, 2), (1, 1)][:num_outs]
    assert [tuple(o.shape[2:]) for o in outs] == expected
    assert all(o.shape[:2] == (2, 32) for o in outs)
    assert len(neck.extra_convs) == (num_outs - 4 if extra else 0)


def test_extra_convs_only_when_used():
    assert len(MTA(IN_CHANNELS, 32, 4, add_extra_convs='on_input').extra_convs) == 0
    assert len(MTA(IN_CHANNELS, 32, 5, add_extra_convs=False).extra_convs) == 0


@pytest.mark.parametrize('kv_reduction', REDUCTIONS)
@pytest.mark.parametrize('extra', [False, 'on_input', 'on_output'])
def test_every_parameter_gets_a_gradient(backbone, kv_reduction, extra):
    """The DDP condition: every created parameter is used in the forward pass."""
    neck = MTA(IN_CHANNELS, 32, 5, add_extra_convs=extra, kv_reduction=kv_reduction).train()
    _assert_all_parameters_used(backbone, neck)


def test_cr_without_projection_uses_every_parameter(backbone):
    _assert_all_parameters_used(
        backbone,
        MTA(IN_CHANNELS, 32, 5, kv_reduction='cr', cr_projection=False).train())


def _assert_all_parameters_used(backbone, neck):
    x = torch.randn(2, 3, 64, 72)
    with torch.no_grad():
        inputs = backbone(x)
    sum(o.float().pow(2).mean() for o in neck(inputs)).backward()
    missing = [n for n, p in neck.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, missing


@pytest.mark.parametrize('kv_reduction', REDUCTIONS)
def test_batch_equals_one_by_one(backbone, kv_reduction):
    """Two images with different clusterings: batched results equal per-image results."""
    neck = MTA(IN_CHANNELS, 32, 5, add_extra_convs='on_input', kv_reduction=kv_reduction).eval()
    torch.manual_seed(3)
    images = torch.randn(2, 3, 72, 88)
    images[1] = images[1].flip(-1) * 2  # a different image, so a different clustering
    with torch.no_grad():
        batched = neck(backbone(images))
        single = [neck(backbone(images[i:i + 1])) for i in range(2)]
        assert not torch.equal(backbone(images)[1].idx_token[0], backbone(images)[1].idx_token[1])
    for level, out in enumerate(batched):
        for i in range(2):
            torch.testing.assert_close(out[i:i + 1], single[i][level], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('size', [(33, 33), (112, 137), (61, 45)])
def test_odd_input_sizes(backbone, size):
    neck = MTA(IN_CHANNELS, 16, 5, add_extra_convs='on_input', kv_reduction='cr').eval()
    with torch.no_grad():
        outs = neck(backbone(torch.randn(1, 3, *size)))
    first = outs[0].shape[2:]
    assert tuple(first) == ((size[0] - 1) // 4 + 1, (size[1] - 1) // 4 + 1)
    assert all(torch.isfinite(o).all() for o in outs)


def test_start_level_skips_a_stage(tokens):
    """RetinaNet style: the stride-4 level is not used, extra levels on top."""
    neck = MTA(IN_CHANNELS, 32, 5, start_level=1, add_extra_convs='on_input').eval()
    assert len(neck.lateral_convs) == 3 and len(neck.merge_blocks) == 2
    with torch.no_grad():
        outs = neck(tokens)
    assert [tuple(o.shape[2:]) for o in outs] == [(12, 10), (6, 5), (3, 3), (2, 2), (1, 1)]


def test_backbone_out_indices_skip_a_stage():
    backbone = TCFormer('v2-tiny', output_format='tokens', out_indices=(1, 2, 3)).eval()
    neck = MTA(IN_CHANNELS[1:], 32, 4, add_extra_convs='on_output').eval()
    with torch.no_grad():
        outs = neck(backbone(torch.randn(1, 3, 64, 64)))
    assert [tuple(o.shape[2:]) for o in outs] == [(8, 8), (4, 4), (2, 2), (1, 1)]


def test_out_indices_hand_the_stride4_map(tokens):
    neck = MTA(IN_CHANNELS, 32, 4, out_indices=(0, ), kv_reduction='pool').eval()
    with torch.no_grad():
        outs = neck(tokens)
    assert len(outs) == 1 and tuple(outs[0].shape) == (2, 32, 24, 20)


def test_token_output(tokens):
    neck = MTA(IN_CHANNELS, 32, 4, output_format='tokens', kv_reduction='cr').eval()
    with torch.no_grad():
        out = neck(tokens)
    assert [t.x.shape for t in out] == [torch.Size([2, t.num_tokens, 32]) for t in tokens]
    assert all(torch.equal(o.idx_token, t.idx_token) for o, t in zip(out, tokens))


def test_bad_arguments(tokens):
    with pytest.raises(ValueError, match='kv_reduction'):
        MTA(IN_CHANNELS, 32, 4, kv_reduction='conv')
    with pytest.raises(ValueError, match='add_extra_convs'):
        MTA(IN_CHANNELS, 32, 5, add_extra_convs='on_everything')
    with pytest.raises(ValueError, match='num_heads'):
        MTA(IN_CHANNELS, 32, 4, num_heads=(1, 2))
    with pytest.raises(ValueError, match='expected 4 token sets'):
        MTA(IN_CHANNELS, 32, 4)(tokens[:3])
    with pytest.raises(TypeError, match="output_format='tokens'"):
        MTA(IN_CHANNELS, 32, 4)(tuple(torch.zeros(1, c, 4, 4) for c in IN_CHANNELS))


def _det_sample(h, w):
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(img_shape=(h, w),
                                         pad_shape=(h, w),
                                         ori_shape=(h, w),
                                         scale_factor=(1., 1.),
                                         batch_input_shape=(h, w)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[8., 8., 40., 36.]]),
                                       labels=torch.tensor([1]))
    return sample


def check_losses_reach(neck, losses):
    """The summed losses are finite and their gradient reaches every parameter of the neck."""
    total = sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert torch.isfinite(total)
    assert all(p.grad is not None for p in neck.parameters())


BACKBONE = dict(type='TCFormer', arch='v2-tiny', output_format='tokens')


def test_retinanet_head_consumes_mta():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(
        dict(type='RetinaNet',
             backbone=BACKBONE,
             neck=dict(type='MTA',
                       in_channels=IN_CHANNELS,
                       out_channels=32,
                       start_level=1,
                       add_extra_convs='on_input',
                       num_outs=5,
                       kv_reduction='cr'),
             bbox_head=dict(type='RetinaHead',
                            num_classes=3,
                            in_channels=32,
                            feat_channels=32,
                            stacked_convs=1,
                            anchor_generator=dict(type='AnchorGenerator',
                                                  octave_base_scale=4,
                                                  scales_per_octave=3,
                                                  ratios=[0.5, 1.0, 2.0],
                                                  strides=[8, 16, 32, 64, 128]),
                            bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                                            target_means=[.0, .0, .0, .0],
                                            target_stds=[1.0, 1.0, 1.0, 1.0]),
                            loss_cls=dict(type='FocalLoss',
                                          use_sigmoid=True,
                                          gamma=2.0,
                                          alpha=0.25,
                                          loss_weight=1.0),
                            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
             train_cfg=dict(assigner=dict(type='MaxIoUAssigner',
                                          pos_iou_thr=0.5,
                                          neg_iou_thr=0.4,
                                          min_pos_iou=0,
                                          ignore_iof_thr=-1),
                            sampler=dict(type='PseudoSampler'),
                            allowed_border=-1,
                            pos_weight=-1,
                            debug=False),
             test_cfg=dict(nms_pre=100,
                           min_bbox_size=0,
                           score_thr=0.05,
                           nms=dict(type='nms', iou_threshold=0.5),
                           max_per_img=10)))
    losses = model.loss(torch.randn(2, 3, 64, 64), [_det_sample(64, 64) for _ in range(2)])
    check_losses_reach(model.neck, losses)


def test_rpn_and_roi_heads_consume_mta():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    import mmdet
    cfg = Config.fromfile(f'{mmdet.__path__[0]}/.mim/configs/_base_/models/mask-rcnn_r50_fpn.py')
    cfg = cfg.model
    cfg.backbone = BACKBONE
    cfg.neck = dict(type='MTA',
                    in_channels=IN_CHANNELS,
                    out_channels=256,
                    num_outs=5,
                    kv_reduction='cr',
                    mlp_ratios=1)
    cfg.roi_head.bbox_head.num_classes = 3
    cfg.roi_head.mask_head.num_classes = 3
    model = MODELS.build(cfg)
    samples = [_det_sample(64, 64) for _ in range(2)]
    for s in samples:
        from mmdet.structures.mask import BitmapMasks
        mask = torch.zeros(1, 64, 64, dtype=torch.uint8)
        mask[0, 8:36, 8:40] = 1
        s.gt_instances.masks = BitmapMasks(mask.numpy(), 64, 64)
    losses = model.loss(torch.randn(2, 3, 64, 64), samples)
    for key in ('loss_rpn_cls', 'loss_cls', 'loss_mask'):
        assert key in losses
    check_losses_reach(model.neck, losses)


def test_semantic_fpn_head_consumes_mta():
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules
    register_all_modules()
    head = MODELS.build(
        dict(type='FPNHead',
             in_channels=[32] * 4,
             in_index=[0, 1, 2, 3],
             feature_strides=[4, 8, 16, 32],
             channels=16,
             dropout_ratio=0.1,
             num_classes=5,
             norm_cfg=dict(type='BN', requires_grad=True),
             align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
    backbone = TCFormer('v2-tiny', output_format='tokens')
    neck = MTA(IN_CHANNELS, 32, 4, kv_reduction='cr')
    feats = neck(backbone(torch.randn(2, 3, 64, 64)))
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 64, 64)))
        samples.append(s)
    losses = head.loss(feats, samples, dict())
    check_losses_reach(neck, losses)


def test_heatmap_head_reads_the_stride4_map():
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules
    register_all_modules()
    head = MODELS.build(
        dict(type='HeatmapHead', in_channels=32, out_channels=17, deconv_out_channels=None))
    backbone = TCFormer('v2-tiny', output_format='tokens').eval()
    neck = MTA(IN_CHANNELS, 32, 4, out_indices=(0, ), kv_reduction='pool').eval()
    with torch.no_grad():
        heatmaps = head(neck(backbone(torch.randn(2, 3, 256, 192))))
    assert tuple(heatmaps.shape) == (2, 17, 64, 48)


def test_the_backbone_pairs_serve_the_neck(tokens, monkeypatch):
    """The backbone's token sets carry their (pixel, token) pairs: the neck renders every level
    through them, with the same maps as pairs made anew."""
    import tcformer_mm.models.necks.mta as mta
    assert tokens[0].pairs is None and all(t.pairs is not None for t in tokens[1:])
    torch.manual_seed(2)
    neck = MTA(IN_CHANNELS, 32, 4, kv_reduction='cr').eval()
    with torch.no_grad():
        fresh = neck([t.replace(pairs=None) for t in tokens])
        made = []
        monkeypatch.setattr(mta, 'token_map_pairs', lambda *a: made.append(a) or None)
        shared = neck(tokens)
    assert not made
    for a, b in zip(shared, fresh):
        torch.testing.assert_close(a, b)
