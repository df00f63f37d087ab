"""Every full-size mmpose config builds and runs; parameter counts; the ablations differ."""
import pytest
import torch
import torch.nn as nn
from helpers.pose import CONFIG_DIR, build_pose_model, num_params, tensor_forward
from mmengine.config import Config

from tcformer_mm.models.layers import CTM, OverlapPatchEmbed
from tcformer_mm.models.necks import MTA, TokenGlobalAveragePooling
from tcformer_mm.ops.clustering.topk import TopK

CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('*.py'))
#: Whole-body heatmap configs (133 heatmaps at stride 4) and the other kinds.
WHOLEBODY = [c for c in CONFIGS if c.startswith('td-hm') and 'coco-wholebody' in c]
RLE = [c for c in CONFIGS if c.startswith('td-reg')]
WFLW = [c for c in CONFIGS if 'wflw' in c]
#: TPAMI Table III, in millions (one decimal).
RLE_PARAMS = {
    'td-reg_tcformerv2-s_rle-8xb64-210e_coco-256x192.py': 25.2,
    'td-reg_tcformerv2-b_rle-8xb64-210e_coco-256x192.py': 62.4,
    'td-reg_tcformerv2-b_rle-8xb64-210e_coco-384x288.py': 62.4,
}
#: Input size each config trains at (height, width), from its name.
INPUT = {c: tuple(int(v) for v in c[:-3].rsplit('-', 1)[1].split('x')) for c in CONFIGS}


def test_the_papers_rows_are_all_here():
    assert len(WHOLEBODY) == 7 and len(RLE) == 3 and len(WFLW) == 1, CONFIGS
    assert set(RLE) == set(RLE_PARAMS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_and_runs(name):
    """Forward at 64x64 (the full size only needs more time): output of the right kind."""
    model = build_pose_model(CONFIG_DIR / name)
    out = tensor_forward(model, 64, 64, batch=2)
    assert torch.isfinite(out).all()
    if name in RLE:
        # (x, y, sigma_x, sigma_y) per COCO keypoint
        assert out.shape == (2, 17, 4)
        assert round(num_params(model) / 1e6, 1) == RLE_PARAMS[name]
    else:
        joints = 98 if name in WFLW else 133
        assert out.shape == (2, joints, 16, 16)  # stride-4 heatmaps


@pytest.mark.parametrize('name', WHOLEBODY + WFLW)
def test_recipe(name):
    """The papers' whole-body recipe / the HRNetV2 WFLW recipe, at the config's resolution."""
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    height, width = INPUT[name]
    assert cfg.codec.input_size == (width, height)
    assert cfg.codec.heatmap_size == (width // 4, height // 4)
    assert cfg.codec.sigma == 2
    assert cfg.model.test_cfg.flip_test
    assert cfg.custom_imports.imports == ['tcformer_mm']
    if name in WHOLEBODY:
        assert cfg.optim_wrapper.optimizer == dict(type='AdamW',
                                                   lr=5e-4,
                                                   betas=(0.9, 0.999),
                                                   weight_decay=1e-2)
        assert cfg.train_cfg.max_epochs == 210
        assert cfg.param_scheduler[1].milestones == [170, 200]
        batch = 64 if height == 256 else 16
        assert cfg.train_dataloader.batch_size == batch
        assert cfg.auto_scale_lr.base_batch_size == 8 * batch
        assert 'AP_H_56' in cfg.val_dataloader.dataset.bbox_file
        assert cfg.val_evaluator.type == 'CocoWholeBodyMetric'
    else:
        assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=2e-3)
        assert cfg.val_evaluator == dict(type='NME', norm_mode='keypoint_distance')
    for pipeline in (cfg.train_pipeline, cfg.val_pipeline):
        [affine] = [t for t in pipeline if t.type == 'TopdownAffine']
        assert affine.input_size == (width, height)


@pytest.mark.parametrize('name', RLE)
def test_rle_recipe(name):
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    height, width = INPUT[name]
    assert cfg.codec == dict(type='RegressionLabel', input_size=(width, height))
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3 if height == 256 else 5e-4)
    assert cfg.model.neck.type == 'TokenGlobalAveragePooling'
    assert cfg.model.backbone.out_indices == (3, )
    assert cfg.val_evaluator.score_mode == 'bbox_rle'


def test_v1_and_v2_necks():
    """V1: the released MTA head (average-pooled keys); V2: CR-MTA, no reduction convs."""
    v1 = build_pose_model(CONFIG_DIR / 'td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py')
    v2 = build_pose_model(CONFIG_DIR /
                          'td-hm_tcformerv2-s-crmta_8xb64-210e_coco-wholebody-256x192.py')
    for model, reduction in ((v1, 'pool'), (v2, 'cr')):
        assert isinstance(model.neck, MTA) and model.neck.kv_reduction == reduction
        assert model.neck.out_indices == (0, ) and model.neck.out_channels == 256
        assert model.head.final_layer.kernel_size == (1, 1)
        assert isinstance(model.head.deconv_layers, nn.Identity)
    assert v1.backbone.num_parts == [1, 1, 1] and v2.backbone.num_parts == [16, 4, 1]
    v1_keys, v2_keys = set(v1.state_dict()), set(v2.state_dict())
    assert not any('.sr.' in k or '.cr.' in k for k in v1_keys if k.startswith('neck.'))
    assert any('.attn.cr.' in k for k in v2_keys)
    # The same backbone widths and depths: the necks differ by the CR projections only.
    assert num_params(v1.backbone) == num_params(v2.backbone)


def test_ablations_really_differ():
    base = build_pose_model(CONFIG_DIR / 'td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py')
    no_ctm = build_pose_model(CONFIG_DIR /
                              'td-hm_tcformerv1-noctm_8xb64-210e_coco-wholebody-256x192.py')
    no_mta = build_pose_model(CONFIG_DIR /
                              'td-hm_tcformerv1-deconv_8xb64-210e_coco-wholebody-256x192.py')
    topk = build_pose_model(CONFIG_DIR /
                            'td-hm_tcformerv1-ctm-topk_8xb64-210e_coco-wholebody-256x192.py')

    def ctms(model):
        return [m for m in model.modules() if isinstance(m, CTM)]

    # w/o CTM: strided convolutions, no clustering anywhere.
    assert len(ctms(base)) == 3 and not ctms(no_ctm)
    assert not any(hasattr(m, 'clustering') for m in no_ctm.modules())
    assert all(isinstance(stage.downsample, OverlapPatchEmbed) for stage in no_ctm.backbone.stages)
    assert isinstance(no_ctm.neck, MTA)
    # w/o MTA: no neck; the last stage's map into SimpleBaseline's three deconvolutions.
    assert not no_mta.with_neck
    assert not any(isinstance(m, (MTA, TokenGlobalAveragePooling)) for m in no_mta.modules())
    assert no_mta.backbone.out_indices == (3, ) and no_mta.backbone.output_format == 'maps'
    deconvs = [m for m in no_mta.head.deconv_layers if isinstance(m, nn.ConvTranspose2d)]
    assert [(d.in_channels, d.out_channels, d.stride) for d in deconvs] == [(512, 256, (2, 2)),
                                                                            (256, 256, (2, 2)),
                                                                            (256, 256, (2, 2))]
    # CTM-topk: the same weights' shapes, another clustering.
    assert all(isinstance(m.clustering, TopK) for m in ctms(topk))
    assert not any(isinstance(m.clustering, TopK) for m in ctms(base))
    assert {k: v.shape for k, v in topk.state_dict().items()} == \
        {k: v.shape for k, v in base.state_dict().items()}
    # The deconvolution head trains at 256x192 to the same 64x48 heatmaps as the MTA head.
    assert tensor_forward(no_mta, 256, 192).shape == (1, 133, 64, 48)
