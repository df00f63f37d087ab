"""TokenGlobalAveragePooling: the classification neck on TCFormer's token sets."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

from tcformer_mm.models import TCFormer, TokenGlobalAveragePooling


@pytest.fixture(scope='module')
def token_sets():
    torch.manual_seed(0)
    backbone = TCFormer('v2-tiny', out_indices=(2, 3), output_format='tokens').eval()
    with torch.no_grad():
        return backbone(torch.rand(2, 3, 64, 96))


def test_mean_of_the_tokens(token_sets):
    outs = TokenGlobalAveragePooling()(token_sets)
    assert isinstance(outs, tuple) and len(outs) == 2
    assert [tuple(o.shape) for o in outs] == [(2, 320), (2, 512)]
    for out, tokens in zip(outs, token_sets):
        assert torch.allclose(out, tokens.x.sum(dim=1) / tokens.x.shape[1])


def test_single_token_set(token_sets):
    [out] = TokenGlobalAveragePooling()(token_sets[-1])
    assert torch.equal(out, token_sets[-1].x.mean(dim=1))


def test_built_by_mmpretrain_and_feeds_the_head(token_sets):
    # Other tests may leave another codebase's default scope behind.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        neck = MODELS.build(dict(type='TokenGlobalAveragePooling'))
        head = MODELS.build(dict(type='LinearClsHead', num_classes=4, in_channels=512))
    logits = head(neck(token_sets))
    assert tuple(logits.shape) == (2, 4)
    assert list(neck.parameters()) == []


@pytest.mark.parametrize('inputs', [(torch.rand(2, 512, 2, 2), ), torch.rand(2, 512, 2, 2)])
def test_feature_maps_are_an_error(inputs):
    with pytest.raises(TypeError, match="output_format='tokens'|tuple of TokenSet"):
        TokenGlobalAveragePooling()(inputs)


def test_maps_error_names_the_shape():
    expected = r"Tensor of shape \(2, 512, 2, 2\).*output_format='tokens'"
    with pytest.raises(TypeError, match=expected):
        TokenGlobalAveragePooling()((torch.rand(2, 512, 2, 2), ))
