"""Output shapes of every TCFormer arch at several input sizes, in both output formats."""
import math

import pytest
import torch

from tcformer_mm.models import TCFormer

ARCHS = ['v1-light', 'v1', 'v1-large', 'v2-tiny', 'v2-small', 'v2-base']
SIZES = [(224, 224), (256, 192), (33, 33), (112, 137)]
DIMS = [64, 128, 320, 512]


def stage_map_sizes(h, w):
    sizes = [((h - 1) // 4 + 1, (w - 1) // 4 + 1)]
    for _ in range(3):
        sizes.append(((sizes[-1][0] - 1) // 2 + 1, (sizes[-1][1] - 1) // 2 + 1))
    return sizes


def check_tokens(outs, num_parts, b, h, w):
    map_sizes = stage_map_sizes(h, w)
    n0 = map_sizes[0][0] * map_sizes[0][1]
    assert len(outs) == 4
    for i, tokens in enumerate(outs):
        n = tokens.num_tokens
        assert tokens.x.shape == (b, n, DIMS[i])
        assert tokens.map_size == map_sizes[i]
        assert tokens.init_grid_size == map_sizes[0]
        assert tokens.idx_token.shape == (b, n0) and tokens.agg_weight.shape == (b, n0, 1)
        assert tokens.score is None
        assert 0 <= int(tokens.idx_token.min()) and int(tokens.idx_token.max()) < n
        assert torch.isfinite(tokens.x).all()
        if i == 0:
            assert n == n0
            continue
        prev = outs[i - 1].num_tokens
        parts = num_parts[i - 1]
        if parts == 1:
            assert n == math.ceil(prev / 4)  # the released global CTM
        else:
            # Local CTM: equal cluster counts in every part, a quarter of the tokens overall.
            assert n % parts == 0 and abs(n - prev / 4) <= parts


@pytest.mark.parametrize('arch', ARCHS)
def test_shapes(arch):
    torch.manual_seed(0)
    model = TCFormer(arch, drop_path_rate=0.).eval()
    num_parts = model.num_parts
    assert list(num_parts) == ([1, 1, 1] if arch.startswith('v1') else [16, 4, 1])
    with torch.no_grad():
        for i, (h, w) in enumerate(SIZES):
            b = 2 if i == 0 else 1
            check_tokens(model(torch.randn(b, 3, h, w)), num_parts, b, h, w)
        # Feature maps at strides 4 / 8 / 16 / 32, from the same weights.
        model.output_format = 'maps'
        h, w = 256, 192
        maps = model(torch.randn(1, 3, h, w))
        assert [tuple(m.shape) for m in maps] == [(1, c, *s)
                                                  for c, s in zip(DIMS, stage_map_sizes(h, w))]


def test_maps_format_and_out_indices():
    model = TCFormer('v2-tiny', out_indices=(1, -1), output_format='maps').eval()
    with torch.no_grad():
        maps = model(torch.randn(1, 3, 112, 137))
    assert [tuple(m.shape) for m in maps] == [(1, 128, 14, 18), (1, 512, 4, 5)]


def test_large_input_local_clustering():
    """800x1333 (detection size) with the local CTM of V2."""
    model = TCFormer('v2-tiny', out_indices=(3, ), output_format='maps').eval()
    with torch.no_grad():
        (out, ) = model(torch.randn(1, 3, 800, 1333))
    assert out.shape == (1, 512, 25, 42) and torch.isfinite(out).all()
