"""tcformer_mm.visualization: token label maps, borders and densities, by hand."""

import numpy as np
import pytest
import torch

from tcformer_mm.visualization import (draw_token_regions, token_borders, token_density,
                                       token_label_map)


def test_label_map_borders_and_density_by_hand():
    from tcformer_mm.ops import TokenSet

    # A 2x2 grid: cells 0, 1, 2 form token 0 (an L), cell 3 is token 1.
    tokens = TokenSet(x=torch.zeros(1, 2, 4),
                      map_size=(1, 1),
                      init_grid_size=(2, 2),
                      idx_token=torch.tensor([[0, 0, 0, 1]]),
                      agg_weight=torch.ones(1, 4, 1))
    labels = token_label_map(tokens, (4, 4))
    expected = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    np.testing.assert_array_equal(labels, expected)
    border = token_borders(labels)
    assert border.sum() == 4 and border[1, 2] and border[1, 3] and border[2, 1] and border[3, 1]
    # 16 pixels, 2 tokens: average area 8; token 0 has 12 pixels, token 1 has 4.
    density = token_density(labels)
    assert density[0, 0] == pytest.approx(8 / 12) and density[3, 3] == pytest.approx(2.0)
    image = np.zeros((4, 4, 3), np.uint8)
    image[0, 0] = 120  # token 0's mean is 10
    drawn = draw_token_regions(image, labels, border_color=(255, 0, 0))
    assert (drawn[0, 0] == 10).all() and (drawn[3, 3] == 0).all()
    assert (drawn[1, 2] == (255, 0, 0)).all()
