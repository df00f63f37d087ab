"""Every ADE20K config builds, runs a forward pass and has its paper table's parameter count."""
import pytest
import torch
from helpers.segmentation import CONFIG_DIR, build_segmentor, num_params, seg_samples
from mmengine.config import Config

SUFFIX_FPN = '_8xb2-40k_ade20k-512x512.py'
#: TPAMI Table V (Semantic FPN): config -> (arch, #Param in millions).
TABLE_V = {
    'fpn_tcformerv1_mta' + SUFFIX_FPN: ('v1', 29.4),
    'fpn_tcformerv2-s_crmta' + SUFFIX_FPN: ('v2-small', 28.4),
    'fpn_tcformerv2-b_crmta' + SUFFIX_FPN: ('v2-base', 66.0),
}
#: TPAMI Table VI (Mask2Former): config -> (arch, crop, #Param in millions).
TABLE_VI = {
    'mask2former_tcformerv2-s_crmta_8xb2-160k_ade20k-512x512.py': ('v2-small', 512, 42.4),
    'mask2former_tcformerv2-b_crmta_8xb2-160k_ade20k-512x512.py': ('v2-base', 512, 79.5),
    'mask2former_tcformerv2-b_crmta_8xb2-160k_ade20k-640x640.py': ('v2-base', 640, 79.5),
}
#: TPAMI Table VIII (V2-Small widths, Semantic FPN): config -> (token merge, feature
#: aggregation, #Param in millions). The local CTM + CR-MTA row is Table V's V2-Small config.
TABLE_VIII = {
    'fpn_tcformerv2-s_noctm-fpn' + SUFFIX_FPN: ('none', 'FPN', 29.1),
    'fpn_tcformerv2-s_global-ctm-fpn' + SUFFIX_FPN: ('global', 'FPN', 29.4),
    'fpn_tcformerv2-s_global-ctm-srmta' + SUFFIX_FPN: ('global', 'sr', 33.7),
    'fpn_tcformerv2-s_global-ctm-crmta' + SUFFIX_FPN: ('global', 'cr', 28.4),
    'fpn_tcformerv2-s_local-ctm-fpn' + SUFFIX_FPN: ('local', 'FPN', 29.4),
    'fpn_tcformerv2-s_local-ctm-srmta' + SUFFIX_FPN: ('local', 'sr', 33.7),
    'fpn_tcformerv2-s_crmta' + SUFFIX_FPN: ('local', 'cr', 28.4),
}
PARAMS = {
    **{
        name: row[-1]
        for name, row in TABLE_V.items()
    },
    **{
        name: row[-1]
        for name, row in TABLE_VI.items()
    },
    **{
        name: row[-1]
        for name, row in TABLE_VIII.items()
    },
}
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('*.py'))


def test_one_config_per_table_row():
    assert sorted(PARAMS) == CONFIGS
    assert len(TABLE_V) + len(TABLE_VI) + len(TABLE_VIII) == len(CONFIGS) + 1


@pytest.mark.parametrize('name', CONFIGS)
def test_parameters_and_forward(name):
    """The paper's #Param within 0.1M, and a prediction at a small, non-square input."""
    torch.manual_seed(0)
    model = build_segmentor(CONFIG_DIR / name)
    count = num_params(model) / 1e6
    assert abs(count - PARAMS[name]) < 0.1, f'{name}: {count:.3f}M vs paper {PARAMS[name]}M'
    h, w = 64, 96
    with torch.no_grad():
        [result] = model.predict(torch.randn(1, 3, h, w), seg_samples(1, h, w))
    assert tuple(result.seg_logits.data.shape) == (150, h, w)
    assert torch.isfinite(result.seg_logits.data).all()
    assert tuple(result.pred_sem_seg.data.shape) == (1, h, w)


@pytest.mark.parametrize('name', sorted(set(TABLE_V) | set(TABLE_VIII)))
def test_semantic_fpn_recipe(name):
    """PVT's Semantic FPN recipe (TPAMI 4.3): 40k iterations at 8 x 2, AdamW 1e-4, poly 0.9,
    random resize + 512 crop, shorter side 512 at test."""
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    assert cfg.default_scope == 'mmseg'
    assert 'tcformer_mm' in cfg.custom_imports.imports
    assert cfg.model.type == 'EncoderDecoder' and cfg.model.decode_head.type == 'FPNHead'
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.train_cfg.max_iters == 40000 and cfg.train_dataloader.batch_size == 2
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr) == ('AdamW', 1e-4)
    [poly] = cfg.param_scheduler
    assert (poly.type, poly.power, poly.end, poly.eta_min) == ('PolyLR', 0.9, 40000, 0)
    assert cfg.crop_size == (512, 512) and cfg.model.data_preprocessor.size == (512, 512)
    types = [t.type for t in cfg.train_pipeline]
    assert types[2:4] == ['RandomResize', 'RandomCrop']
    assert cfg.train_pipeline[2].ratio_range == (0.5, 2.0)
    assert cfg.train_pipeline[3].crop_size == (512, 512)
    resize = cfg.test_dataloader.dataset.pipeline[1]
    assert (resize.type, resize.scale, resize.keep_ratio) == ('Resize', (2048, 512), True)
    assert cfg.train_dataloader.dataset.type == 'ADE20KDataset'
    assert cfg.val_evaluator.type == 'IoUMetric'


@pytest.mark.parametrize('name', sorted(TABLE_V))
def test_table_v_necks(name):
    """V1: spatially reduced MTA; V2: CR-MTA."""
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    arch, _ = TABLE_V[name]
    assert cfg.model.backbone.arch == arch
    assert cfg.model.neck.type == 'MTA'
    assert cfg.model.neck.kv_reduction == ('pool' if arch == 'v1' else 'cr')


def _without_varied_settings(cfg):
    """The config minus what Table VIII varies: the token merge and the aggregation module."""
    model = cfg.to_dict()['model']
    for key in ('use_ctm', 'num_parts', 'output_format', 'init_cfg'):
        model['backbone'].pop(key, None)
    model.pop('neck')
    rest = {k: v for k, v in cfg.to_dict().items() if k not in ('model', 'pretrained')}
    return model, rest


def test_table_viii_configs_differ_only_in_the_ablated_components():
    cfgs = {name: Config.fromfile(str(CONFIG_DIR / name)) for name in TABLE_VIII}
    stripped = [_without_varied_settings(cfg) for cfg in cfgs.values()]
    assert all(s == stripped[0] for s in stripped[1:])
    for name, cfg in cfgs.items():
        merge, aggregation, _ = TABLE_VIII[name]
        backbone, neck = cfg.model.backbone, cfg.model.neck
        assert backbone.arch == 'v2-small'
        assert backbone.get('use_ctm', True) == (merge != 'none')
        if merge != 'none':
            assert tuple(backbone.num_parts) == ((1, 1, 1) if merge == 'global' else (16, 4, 1))
        if aggregation == 'FPN':
            assert neck.type == 'FPN' and backbone.output_format == 'maps'
        else:
            assert neck.type == 'MTA' and backbone.output_format == 'tokens'
            assert (neck.kv_reduction, neck.mlp_ratios) == (aggregation, 1)


@pytest.mark.parametrize('name', sorted(TABLE_VI))
def test_mask2former_recipe(name):
    """mmseg's Mask2Former ADE20K recipe: 160k iterations at 8 x 2, AdamW 1e-4, weight decay
    0.05, poly; MTA as the pixel decoder with three memories."""
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    arch, crop, _ = TABLE_VI[name]
    assert cfg.default_scope == 'mmseg'
    assert set(cfg.custom_imports.imports) == {'mmdet.models', 'tcformer_mm'}
    assert cfg.model.backbone.arch == arch and cfg.model.backbone.output_format == 'tokens'
    head = cfg.model.decode_head
    assert head.type == 'Mask2FormerHead' and head.num_classes == 150
    assert head.pixel_decoder.type == 'MTAPixelDecoder'
    assert head.pixel_decoder.encoder.kv_reduction == 'cr'
    assert head.num_transformer_feat_level == head.pixel_decoder.num_outs == 3
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size == 2
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-4, 0.05)
    [poly] = cfg.param_scheduler
    assert (poly.type, poly.power, poly.end) == ('PolyLR', 0.9, 160000)
    assert cfg.crop_size == (crop, crop) and cfg.model.data_preprocessor.size == (crop, crop)
    train_crop = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomCrop']
    assert train_crop[0].crop_size == (crop, crop)
    resize = cfg.test_dataloader.dataset.pipeline[1]
    assert resize.scale == (4 * crop, crop)
