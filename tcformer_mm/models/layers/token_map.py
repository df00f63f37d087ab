"""token2map / map2token over coalesced (pixel, token) pairs: the fast path of the blocks.

``tcformer_mm.ops.token2map`` and ``map2token`` sum over the N0 cells of the initial grid, so
every call moves N0 x C values however few tokens and pixels there are. In stages 3-4 a pixel
covers 16-64 cells but only a few distinct tokens, and the MLP's token conv works on 4-8x wider
hidden features, so most of that traffic adds up weights that could have been added once.
Here the cells are first coalesced into distinct (pixel, token) pairs (a sort of N0 integers,
independent of C), and the features move once per pair. The results are those of the ops
(same weights, same ``EPS``, fp32 accumulation, cast back), up to summation order; the tests
check them against the ops.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from tcformer_mm.ops import TokenSet, map2token, token2map
from tcformer_mm.ops.transforms import EPS, grid_to_map_index


class TokenMapPairs(NamedTuple):
    """Distinct (pixel, token) pairs of a token set on a map, batch offsets included.

    Attributes:
        pixel (Tensor): Long (P,), pixel b * H * W + p of every pair (sorted).
        token (Tensor): Long (P,), token b * N + t of every pair.
        cells (Tensor): (P,), number of initial grid cells of the pair.
        weight (Tensor): (P,), sum of the pair's cells' ``agg_weight``.
        map_size (tuple[int, int]): (H, W).
    """
    pixel: Tensor
    token: Tensor
    cells: Tensor
    weight: Tensor
    map_size: Tuple[int, int]


def token_map_pairs(tokens: TokenSet,
                    map_size: Optional[Tuple[int, int]] = None,
                    dtype: torch.dtype = torch.float32) -> TokenMapPairs:
    """Coalesce the cells of ``tokens`` into distinct (pixel, token) pairs on ``map_size``."""
    map_size = tokens.map_size if map_size is None else tuple(map_size)
    b, n = tokens.x.shape[:2]
    num_pixels = map_size[0] * map_size[1]
    device = tokens.idx_token.device
    pixel = grid_to_map_index(tokens.init_grid_size, map_size, device)
    pixel = pixel.unsqueeze(0) + torch.arange(b, device=device).unsqueeze(1) * num_pixels
    key = (pixel * n + tokens.idx_token).reshape(-1)
    pairs, inverse = torch.unique(key, sorted=True, return_inverse=True)
    cells = torch.zeros(len(pairs), device=device,
                        dtype=dtype).index_add_(0, inverse,
                                                torch.ones(len(key), device=device, dtype=dtype))
    weight = torch.zeros(len(pairs), device=device,
                         dtype=dtype).index_add_(0, inverse,
                                                 tokens.agg_weight.detach().reshape(-1).to(dtype))
    pair_pixel = pairs // n
    pair_token = pair_pixel // num_pixels * n + pairs % n
    return TokenMapPairs(pair_pixel, pair_token, cells, weight, map_size)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)


def fast_token2map(tokens: TokenSet,
                   map_size: Optional[Tuple[int, int]] = None,
                   pairs: Optional[TokenMapPairs] = None) -> Tensor:
    """``ops.token2map`` computed over coalesced pairs.

    Args:
        tokens (TokenSet): Tokens, ``x`` of shape (B, N, C).
        map_size (tuple[int, int], optional): Output (H, W); defaults to ``tokens.map_size``.
        pairs (TokenMapPairs, optional): Precomputed pairs of this token distribution, used
            when made for the same map size (layers of a block share them).

    Returns:
        Tensor: (B, C, H, W), dtype of ``tokens.x``.
    """
    map_size = tokens.map_size if map_size is None else tuple(map_size)
    if tokens.is_grid and map_size == tokens.map_size:
        return token2map(tokens, map_size)
    x = tokens.x
    b, n, c = x.shape
    dtype = _compute_dtype(x.dtype)
    if pairs is None or pairs.map_size != map_size:
        pairs = token_map_pairs(tokens, map_size, dtype)
    h, w = pairs.map_size
    count = torch.zeros(b * h * w, device=x.device,
                        dtype=dtype).index_add_(0, pairs.pixel, pairs.cells.to(dtype))
    weight = pairs.cells.to(dtype) / (count[pairs.pixel] + EPS)
    source = x.reshape(b * n, c).to(dtype).index_select(0, pairs.token) * weight.unsqueeze(1)
    out = torch.zeros(b * h * w, c, device=x.device, dtype=dtype).index_add_(0, pairs.pixel, source)
    return out.reshape(b, h, w, c).permute(0, 3, 1, 2).to(x.dtype)


def fast_map2token(feature_map: Tensor,
                   tokens: TokenSet,
                   pairs: Optional[TokenMapPairs] = None) -> Tensor:
    """``ops.map2token`` computed over coalesced pairs.

    Args:
        feature_map (Tensor): (B, C, H, W).
        tokens (TokenSet): Target token distribution (N tokens).
        pairs (TokenMapPairs, optional): Precomputed pairs of ``tokens``, used when made for
            (H, W).

    Returns:
        Tensor: (B, N, C), dtype of ``feature_map``.
    """
    b, c, h, w = feature_map.shape
    if tokens.is_grid and (h, w) == tokens.map_size:
        return map2token(feature_map, tokens)
    n = tokens.num_tokens
    dtype = _compute_dtype(feature_map.dtype)
    if pairs is None or pairs.map_size != (h, w):
        pairs = token_map_pairs(tokens, (h, w), dtype)
    pair_weight = pairs.weight.to(dtype)
    total = torch.zeros(b * n, device=feature_map.device,
                        dtype=dtype).index_add_(0, pairs.token, pair_weight)
    weight = pair_weight / (total[pairs.token] + EPS)
    pixels = feature_map.permute(0, 2, 3, 1).reshape(b * h * w, c).to(dtype)
    source = pixels.index_select(0, pairs.pixel) * weight.unsqueeze(1)
    out = torch.zeros(b * n, c, device=feature_map.device,
                      dtype=dtype).index_add_(0, pairs.token, source)
    return out.reshape(b, n, c).to(feature_map.dtype)
