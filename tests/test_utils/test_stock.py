"""tcformer_mm.utils.stock: every tiny config's stock counterpart builds in its codebase and
runs, with PVTv2 as backbone and the stock neck."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import tcformer_mm  # noqa: F401  (registers our modules)
from tcformer_mm.utils.stock import stock_counterpart

TINY = 'configs/tiny/'


def _build(cfg):
    init_default_scope(cfg.default_scope)
    registry = {
        'mmpretrain': 'mmpretrain.registry',
        'mmpose': 'mmpose.registry',
        'mmseg': 'mmseg.registry',
        'mmdet': 'mmdet.registry',
    }[cfg.default_scope]
    import importlib
    return importlib.import_module(registry).MODELS.build(cfg.model).eval()


@pytest.mark.parametrize('config,neck,shape', [
    ('tcformerv2-tiny_1xb16_tiny-cls.py', 'GlobalAveragePooling', (1, 3, 96, 96)),
    ('td-hm_tcformerv2-t-crmta_1xb8_tiny-coco-wholebody-96x72.py', 'FeatureMapProcessor',
     (1, 3, 96, 72)),
    ('td-reg_tcformerv2-t_rle-1xb8_tiny-coco-96x72.py', 'GlobalAveragePooling', (1, 3, 96, 72)),
    ('fpn_tcformerv2-tiny_crmta_1xb4_tiny-ade.py', 'FPN', (1, 3, 96, 96)),
    ('retinanet_tcformerv2-t_mta_1xb4_tiny-coco.py', 'FPN', (1, 3, 128, 128)),
])
def test_stock_counterpart_builds_and_runs(config, neck, shape):
    cfg = Config.fromfile(TINY + config)
    stock = stock_counterpart(cfg)
    backbone = 'ResNet' if cfg.default_scope == 'mmpretrain' else 'PyramidVisionTransformerV2'
    assert stock.model.backbone.type.split('.')[-1] == backbone
    assert stock.model.neck.type == neck
    # Only the model changes.
    assert stock.train_dataloader == cfg.train_dataloader
    assert stock.optim_wrapper == cfg.optim_wrapper
    model = _build(stock)
    assert type(model.backbone).__name__ == backbone
    with torch.no_grad():
        feats = model.extract_feat(torch.rand(*shape))
    assert all(torch.isfinite(f).all() for f in feats)


def test_mask2former_pixel_decoder_becomes_deformable():
    cfg = Config.fromfile(TINY + 'mask2former_tcformerv2-tiny_crmta_1xb4_tiny-ade.py')
    stock = stock_counterpart(cfg)
    decoder = stock.model.decode_head.pixel_decoder
    assert decoder.type == 'mmdet.MSDeformAttnPixelDecoder'
    # One deformable encoder layer per MTA merge block, MTA's heads, the head's widths.
    assert decoder.encoder.num_layers == 3
    assert decoder.encoder.layer_cfg.self_attn_cfg.num_heads == 2
    assert decoder.encoder.layer_cfg.self_attn_cfg.num_levels == 3
    assert decoder.encoder.layer_cfg.ffn_cfg.feedforward_channels == 64
    model = _build(stock)
    assert type(model.decode_head.pixel_decoder).__name__ == 'MSDeformAttnPixelDecoder'
    with torch.no_grad():
        feats = model.extract_feat(torch.rand(1, 3, 64, 64))
        mask_features, memories = model.decode_head.pixel_decoder(feats)
    assert mask_features.shape == (1, 64, 16, 16)
    assert [tuple(m.shape[-2:]) for m in memories] == [(2, 2), (4, 4), (8, 8)]


def test_unknown_neck_decoder_and_variant():
    cfg = Config.fromfile(TINY + 'mask2former_tcformerv2-tiny_crmta_1xb4_tiny-ade.py')
    with pytest.raises(ValueError, match="pvtv2 must be one of"):
        stock_counterpart(cfg, 'b9')
    cfg.model.decode_head.pixel_decoder.type = 'PixelDecoder'
    with pytest.raises(ValueError,
                       match="no stock counterpart known for the pixel decoder "
                       "'PixelDecoder'"):
        stock_counterpart(cfg)
    cfg = Config.fromfile(TINY + 'fpn_tcformerv2-tiny_crmta_1xb4_tiny-ade.py')
    cfg.model.neck.type = 'ChannelMapper'
    with pytest.raises(ValueError, match="no stock counterpart known for the neck 'ChannelMapper'"):
        stock_counterpart(cfg)
