"""Where the dynamic tokens gather: the token concentration on a region of the image.

The papers' central claim (CVPR Fig. 7, TPAMI Fig. 1) is that a trained TCFormer spends fine
tokens on what matters (the person, the face, the hands) and few on the background. For a
region R given per initial grid cell (the share of the cell's area inside R), the
concentration of a stage's tokens on R is

    (share of the tokens lying on R) / (share of the image area R covers),

where a token lies on R by the share of its cells that do (a token half on R counts one half).
Grid tokens give exactly 1; a value above 1 means the tokens are denser on R than on the rest
of the image. Pure tensor code: the tokens' cells are all it reads.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from tcformer_mm.ops import TokenSet


def region_on_grid(mask: Tensor, init_grid_size) -> Tensor:
    """Share of every initial grid cell covered by a region given at image resolution.

    Args:
        mask (Tensor): (B, H, W), bool or float in [0, 1]: the region per image pixel.
        init_grid_size (tuple[int, int]): (H0, W0) of the tokens' initial grid.

    Returns:
        Tensor: (B, H0, W0) float in [0, 1], the area average over every cell (adaptive
        average pooling: cells that cover the image exactly, as the stride-4 patch embedding).
    """
    if mask.dim() != 3:
        raise ValueError(f'region_on_grid: mask must have shape (B, H, W), got '
                         f'{tuple(mask.shape)}')
    return F.adaptive_avg_pool2d(mask[:, None].float(), tuple(init_grid_size))[:, 0]


def token_concentration(tokens: TokenSet, region: Tensor) -> Tensor:
    """Concentration of ``tokens`` on ``region`` (see the module docstring), per image.

    Args:
        tokens (TokenSet): N tokens per image on an (H0, W0) initial grid.
        region (Tensor): (B, H0, W0) or (B, H0 * W0), the share of every initial cell inside the
            region (:func:`region_on_grid`).

    Returns:
        Tensor: (B,) float; NaN for an image whose region is empty.
    """
    B, N0 = tokens.idx_token.shape
    if region.shape[0] != B or region[0].numel() != N0:
        raise ValueError(f'token_concentration: region must give the {N0} initial cells of '
                         f'each of the {B} images, got shape {tuple(region.shape)}')
    cell = region.reshape(B, N0).float()
    N = tokens.num_tokens
    idx = tokens.idx_token.to(cell.device)
    on_region = cell.new_zeros(B, N).scatter_add_(1, idx, cell)
    cells = cell.new_zeros(B, N).scatter_add_(1, idx, torch.ones_like(cell))
    token_share = (on_region / cells.clamp(min=1)).sum(1) / N
    area_share = cell.mean(1)
    return token_share / area_share
