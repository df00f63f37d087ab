"""TokenConv: a Conv2d on the map drawn from the tokens, read back, plus the 1x1 skip."""

import pytest
import torch
import torch.nn.functional as F
from layer_utils import grid_tokens, merged_tokens, randomize

from tcformer_mm.models.layers import TokenConv


@pytest.mark.parametrize('groups', [1, 16])
def test_token_conv_on_grid_is_conv_plus_skip(groups):
    tokens = grid_tokens(c=16)
    conv = randomize(TokenConv(16, 16, 3, padding=1, groups=groups))
    b, n, c = tokens.x.shape
    x_map = tokens.x.transpose(1, 2).reshape(b, c, *tokens.map_size)
    expected = F.conv2d(x_map, conv.weight, conv.bias, padding=1, groups=groups)
    expected = expected.flatten(2).transpose(1, 2)
    expected = expected + F.conv1d(tokens.x.transpose(1, 2), conv.skip.weight,
                                   groups=groups).transpose(1, 2)
    torch.testing.assert_close(conv(tokens), expected)


def test_token_conv_strided_reads_back_into_the_same_tokens():
    tokens = merged_tokens()
    conv = randomize(TokenConv(16, 32, 3, stride=2, padding=1))
    out = conv(tokens)
    assert out.shape == (2, tokens.num_tokens, 32)
    assert torch.isfinite(out).all()
