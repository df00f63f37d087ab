"""tcformer_mm.analysis.token_concentration: grid tokens give 1, fine tokens on a region more."""
import pytest
import torch

from tcformer_mm.analysis.token_concentration import region_on_grid, token_concentration
from tcformer_mm.ops import TokenSet


def test_grid_tokens_have_concentration_one():
    tokens = TokenSet.from_grid(torch.rand(2, 12, 3), (3, 4))
    region = torch.rand(2, 3, 4)
    torch.testing.assert_close(token_concentration(tokens, region), torch.ones(2))


def test_fine_tokens_on_the_region():
    # 4x4 grid; the left half is 8 one-cell tokens, the right half one token: 8 of 9 tokens
    # lie on a region of half the area.
    idx = torch.tensor([[0, 1, 8, 8], [2, 3, 8, 8], [4, 5, 8, 8], [6, 7, 8, 8]]).reshape(1, 16)
    tokens = TokenSet(x=torch.rand(1, 9, 3),
                      map_size=(2, 2),
                      init_grid_size=(4, 4),
                      idx_token=idx,
                      agg_weight=torch.ones(1, 16, 1))
    left = torch.zeros(1, 4, 4)
    left[:, :, :2] = 1
    assert token_concentration(tokens, left).item() == pytest.approx((8 / 9) / 0.5)
    # A token half on the region counts one half: the right column only.
    right = 1 - left
    right[:, :, 2] = 0
    assert token_concentration(tokens, right).item() == pytest.approx((0.5 / 9) / 0.25)


def test_region_on_grid_averages_cells():
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, :4, :2] = True
    grid = region_on_grid(mask, (2, 2))
    assert grid.tolist() == [[[0.5, 0.0], [0.0, 0.0]]]


def test_shape_errors_name_the_argument():
    tokens = TokenSet.from_grid(torch.rand(1, 12, 3), (3, 4))
    with pytest.raises(ValueError, match='region must give the 12 initial cells'):
        token_concentration(tokens, torch.rand(1, 4, 4))
    with pytest.raises(ValueError, match=r'mask must have shape \(B, H, W\)'):
        region_on_grid(torch.rand(8, 8), (2, 2))
