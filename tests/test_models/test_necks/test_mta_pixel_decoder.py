"""MTAPixelDecoder: the contract of mmdet's Mask2FormerHead, shapes, errors, gradients."""
import copy

import pytest
import torch
from helpers.segmentation import CONFIG_DIR, load_config, num_params, seg_samples
from mmengine.config import ConfigDict

from tcformer_mm.models import MTA, MTAPixelDecoder, TCFormer

IN_CHANNELS = [64, 128, 320, 512]
FULL_CONFIG = CONFIG_DIR / 'mask2former_tcformerv2-s_crmta_8xb2-160k_ade20k-512x512.py'


@pytest.fixture(scope='module')
def backbone():
    torch.manual_seed(0)
    return TCFormer('v2-tiny', output_format='tokens').eval()


@pytest.fixture(scope='module')
def head_cfg():
    """The decode head of the V2-Small Mask2Former config (the full-size pixel decoder)."""
    return load_config(FULL_CONFIG).model.decode_head


def build_head(head_cfg, **changes):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = copy.deepcopy(head_cfg)
    cfg.update(changes)
    return MODELS.build(cfg)


def test_head_builds_the_decoder_with_its_arguments(head_cfg):
    """The head injects in_channels / feat_channels / out_channels and initialises it."""
    head = build_head(head_cfg)
    decoder = head.pixel_decoder
    assert isinstance(decoder, MTAPixelDecoder)
    assert decoder.in_channels == IN_CHANNELS
    assert decoder.mta.out_channels == 256 and decoder.mask_feature.out_channels == 256
    assert decoder.mta.kv_reduction == 'cr' and decoder.num_outs == 3
    torch.manual_seed(0)
    before = decoder.mask_feature.weight.clone()
    head.init_weights()
    assert not torch.equal(before, decoder.mask_feature.weight)
    assert not decoder.mask_feature.bias.abs().sum()


def test_decoder_parameters(head_cfg):
    """MTA without projection, MLP ratio 4 (2.666M), its lateral convs with GroupNorm (scale
    and shift in place of the conv bias: +256 per level), plus the 1x1 mask projection."""
    decoder = build_head(head_cfg).pixel_decoder
    mta = MTA(IN_CHANNELS, 256, 4, mlp_ratios=4, kv_reduction='pool')
    assert num_params(mta) == 2_666_240
    assert num_params(decoder) == num_params(mta) + 4 * 256 + 256 * 256 + 256 == 2_733_056
    assert all(
        type(conv.norm).__name__ == 'GroupNorm' and conv.with_activation
        for conv in decoder.mta.lateral_convs)


@pytest.mark.parametrize('size', [(512, 512), (500, 375)])
def test_returns_what_the_head_needs(backbone, head_cfg, size):
    """mask_features at stride 4 and the stride 32 / 16 / 8 memories, coarsest first; the
    head's transformer decoder runs on them."""
    head = build_head(head_cfg).eval()
    h, w = size
    with torch.no_grad():
        tokens = backbone(torch.randn(1, 3, h, w))
        mask_features, memories = head.pixel_decoder(tokens)
    s4 = ((h - 1) // 4 + 1, (w - 1) // 4 + 1)
    assert tuple(mask_features.shape) == (1, 256, *s4)
    expected = [tokens[3].map_size, tokens[2].map_size, tokens[1].map_size]
    assert [tuple(m.shape[2:]) for m in memories] == expected
    assert all(m.shape[:2] == (1, 256) for m in memories)
    if size == (512, 512):
        assert expected == [(16, 16), (32, 32), (64, 64)]
    else:
        assert expected == [(16, 12), (32, 24), (63, 47)]
    # The whole head on these features: class scores and masks of every decoder layer.
    with torch.no_grad():
        cls_scores, mask_preds = head(tokens, seg_samples(1, h, w))
    assert len(cls_scores) == len(mask_preds) == 10  # 9 layers + the query initialisation
    assert tuple(cls_scores[-1].shape) == (1, 100, 151)
    assert tuple(mask_preds[-1].shape) == (1, 100, *s4)


def test_every_parameter_gets_a_gradient(backbone):
    decoder = MTAPixelDecoder(IN_CHANNELS, 32, 16, encoder=dict(kv_reduction='cr'))
    with torch.no_grad():
        tokens = backbone(torch.randn(2, 3, 64, 80))
    mask_features, memories = decoder(tokens)
    (mask_features.pow(2).mean() + sum(m.pow(2).mean() for m in memories)).backward()
    missing = [n for n, p in decoder.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing


@pytest.mark.parametrize('num_outs', [1, 2])
def test_fewer_memories(backbone, num_outs):
    decoder = MTAPixelDecoder(IN_CHANNELS, 32, 16, num_outs=num_outs).eval()
    with torch.no_grad():
        tokens = backbone(torch.randn(1, 3, 64, 64))
        _, memories = decoder(tokens)
    assert [tuple(m.shape[2:]) for m in memories] == [(2, 2), (4, 4)][:num_outs]


def test_bad_arguments(backbone, head_cfg):
    with pytest.raises(ValueError, match='num_levels'):
        MTAPixelDecoder(IN_CHANNELS,
                        32,
                        32,
                        num_outs=3,
                        encoder=dict(layer_cfg=dict(self_attn_cfg=dict(num_levels=4))))
    with pytest.raises(ValueError, match='num_outs'):
        MTAPixelDecoder(IN_CHANNELS, 32, 32, num_outs=4)
    with pytest.raises(ValueError, match='strides'):
        MTAPixelDecoder(IN_CHANNELS, 32, 32, strides=(8, 16, 32))
    with pytest.raises(ValueError, match=r"unknown encoder keys \['num_layers'\]"):
        MTAPixelDecoder(IN_CHANNELS, 32, 32, encoder=dict(num_layers=6))
    with pytest.raises(ValueError, match='kv_reduction'):
        MTAPixelDecoder(IN_CHANNELS, 32, 32, encoder=dict(kv_reduction='deform'))
    with pytest.raises(TypeError, match="output_format='tokens'"):
        MTAPixelDecoder(IN_CHANNELS, 32, 32)(tuple(torch.zeros(1, c, 4, 4) for c in IN_CHANNELS))
    # The head's own check of the memory count reads our config key.
    with pytest.raises(AssertionError):
        build_head(head_cfg, num_transformer_feat_level=2)


def test_registered_where_the_mask2former_heads_build_it():
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmseg.registry import MODELS as MMSEG_MODELS
    for registry in (MMSEG_MODELS, MMDET_MODELS):
        assert registry.get('MTAPixelDecoder') is MTAPixelDecoder
    cfg = ConfigDict(type='MTAPixelDecoder',
                     in_channels=IN_CHANNELS,
                     feat_channels=32,
                     out_channels=32)
    assert isinstance(MMDET_MODELS.build(cfg), MTAPixelDecoder)
