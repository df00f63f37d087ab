"""Transforms between dynamic tokens and feature maps, and the token merge of the CTM (eq. 3).

Every op works through the initial grid: a cell of the stage-1 grid belongs to one token
(``idx_token``) and lies in one pixel of any coarser map (:func:`grid_to_map_index`), so a
transform is a weighted sum over cells. The cells are first coalesced into the distinct (pixel,
token) or (target, source) pairs present (for the maps: :func:`token_map_pairs`, which callers
compute once per token distribution and share): in later stages a pixel covers many cells but
few distinct tokens, so the features move once per pair, summed with one ``embedding_bag`` per
transform (:mod:`.pair_sums`). Every size follows from the input's shape: nothing is read back
to the host, on any device, and the same ops run eagerly, compiled and captured in a graph.
The released code built ``torch.sparse`` matrices for the same sums; those are slow on CPU and
cannot be exported to ONNX. The merge uses gathers, ``scatter_reduce`` and ``index_add``.

Accumulation is in fp32 (fp64 stays fp64), also under autocast, and the result is cast back to
the input dtype. As in the released code, the aggregation weights (``agg_weight``) are treated as
constants by the transforms (they were ``detach()``-ed there): gradients flow to the features.
"""
import math
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .pair_sums import PairSums, coalesce, normalise
from .shape_constants import batch_offsets
from .token_set import Clusters, TokenSet, grid_to_map_index

#: Added to every normaliser, as in the released code: the transforms' sums over cells and the
#: merge's sums over a cluster (eq. 3). It also makes an empty target 0 instead of NaN.
EPS = 1e-6


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """fp32 for fp16 / bf16 / fp32 inputs, fp64 for fp64 (needed by gradcheck)."""
    return torch.promote_types(dtype, torch.float32)


class TokenMapPairs(NamedTuple):
    """Distinct (pixel, token) pairs of a token set on a map, batch offsets included.

    ``token2map`` and ``map2token`` are sums over the N0 initial grid cells; in later stages a
    pixel covers many cells but few distinct tokens, so the cells are first coalesced into
    distinct pairs (a sort of N0 integers, independent of the channels) and the features move
    once per pair, summed into their pixel (``token2map``) or token (``map2token``). Everything
    here depends on the token distribution only, not on the features.

    Attributes:
        to_map (PairSums): Token rows b * N + t into pixels b * H * W + p, weighted by the
            pair's share of the pixel's initial grid cells.
        to_tokens (PairSums): Pixel rows into tokens, weighted by the pair's share of the
            token's initial grid cells (the released ``map2token``: every cell weighs 1, the
            aggregation weights are not used).
        map_size (tuple[int, int]): (H, W).
        num_tokens (int): N.
        num_pairs (Tensor): P, the number of distinct pairs of all images (0-dim; reading it
            is a host sync).
    """
    to_map: PairSums
    to_tokens: PairSums
    map_size: Tuple[int, int]
    num_tokens: int
    num_pairs: Tensor


def token_map_pairs(tokens: TokenSet, map_size: Optional[Tuple[int, int]] = None) -> TokenMapPairs:
    """Coalesce the initial grid cells of ``tokens`` into distinct (pixel, token) pairs.

    Args:
        tokens (TokenSet): Token distribution (``x`` is only read for its shape).
        map_size (tuple[int, int], optional): (H, W); defaults to ``tokens.map_size``.

    Returns:
        TokenMapPairs: To pass to :func:`token2map` / :func:`map2token` (as ``pairs``) when
        several transforms share a token distribution and map size.
    """
    H, W = tokens.map_size if map_size is None else tuple(map_size)
    B, N = tokens.x.shape[:2]
    device = tokens.idx_token.device
    num_pixels = B * H * W
    pixel = (grid_to_map_index(tokens.init_grid_size, (H, W), device).unsqueeze(0) +
             batch_offsets(B, H * W, device=device))
    token = tokens.idx_token + batch_offsets(B, N, device=device)
    pairs = coalesce(pixel.reshape(-1), token.reshape(-1), num_pixels, B * N)
    cells = pairs.by_target.weight.to(_compute_dtype(tokens.agg_weight.dtype))
    # A pair's share of its pixel's cells, and of its token's cells. Where the map divides the
    # initial grid, every pixel holds the same number of cells.
    (H0, W0) = tokens.init_grid_size
    if H0 % H == 0 and W0 % W == 0:
        to_map = pairs.sums(cells * (1 / (H0 // H * (W0 // W) + EPS)))
    else:
        to_map = pairs.sums(normalise(cells, pairs.by_target.bag, num_pixels, EPS))
    to_tokens = pairs.transposed_sums(normalise(cells, pairs.by_target.index, B * N, EPS))
    return TokenMapPairs(to_map, to_tokens, (H, W), N, pairs.num_pairs)


def _made_for(pairs: Optional[TokenMapPairs], tokens: TokenSet, map_size: Tuple[int, int]) -> bool:
    return (pairs is not None and tuple(pairs.map_size) == tuple(map_size)
            and pairs.num_tokens == tokens.num_tokens)


def halves_own_map(tokens: TokenSet, map_size: Tuple[int, int]) -> bool:
    """Whether ``map_size`` halves ``tokens.map_size`` exactly on the initial grid.

    Then every pixel of the tokens' own map lies in one pixel of ``map_size`` and holds the
    same number of initial cells, so a transform at ``map_size`` equals the transform at the
    own map followed by a 2 x 2 average pooling (``token2map``) or preceded by a nearest
    up-sampling (``map2token``), and needs no pairs of its own. This is the CTM's case (its
    stride-2 conv and the first block's keys/values) whenever the input size is a multiple of
    the backbone's stride, as detectors pad it to be.
    """
    (h, w), (H, W), (H0, W0) = tokens.map_size, tuple(map_size), tokens.init_grid_size
    return h == 2 * H and w == 2 * W and H0 % h == 0 and W0 % w == 0


def pairs_for(tokens: TokenSet,
              map_size: Tuple[int, int],
              pairs: Optional[TokenMapPairs] = None) -> Optional[TokenMapPairs]:
    """The pairs through which ``token2map`` / ``map2token`` of ``tokens`` at ``map_size``
    run: ``pairs`` (those of the tokens on their own map, None for grid tokens) where
    ``map_size`` halves that map (:func:`halves_own_map`), else ``token_map_pairs(tokens,
    map_size)``."""
    if halves_own_map(tokens, map_size):
        return pairs
    return token_map_pairs(tokens, map_size)


def _via_own_map(tokens: TokenSet, map_size: Tuple[int, int],
                 pairs: Optional[TokenMapPairs]) -> bool:
    """Transform at ``map_size`` through the tokens' own map (and their pairs there)?"""
    return (not _made_for(pairs, tokens, map_size) and halves_own_map(tokens, map_size)
            and (pairs is None or _made_for(pairs, tokens, tokens.map_size)))


def _get_pairs(tokens: TokenSet, map_size: Tuple[int, int],
               pairs: Optional[TokenMapPairs]) -> TokenMapPairs:
    return pairs if _made_for(pairs, tokens, map_size) else token_map_pairs(tokens, map_size)


def _render(tokens: TokenSet, map_size: Tuple[int, int], pairs: Optional[TokenMapPairs]) -> Tensor:
    """``token2map`` in the compute dtype."""
    x = tokens.x
    B, N, C = x.shape
    H, W = map_size
    dtype = _compute_dtype(x.dtype)
    if tokens.is_grid and (H, W) == tokens.map_size:
        return x.to(dtype).transpose(1, 2).reshape(B, C, H, W)
    if _via_own_map(tokens, (H, W), pairs):
        # A coarse pixel averages its 4 n cells, normalised by 4 n + EPS; the own map's
        # pixels were normalised by n + EPS (n for grid tokens, which are their cells).
        h, w = tokens.map_size
        n = tokens.init_grid_size[0] // h * (tokens.init_grid_size[1] // w)
        scale = 4 * (n + (0 if tokens.is_grid else EPS)) / (4 * n + EPS)
        return F.avg_pool2d(_render(tokens, (h, w), pairs), 2) * scale
    pairs = _get_pairs(tokens, (H, W), pairs)
    out = pairs.to_map(x.reshape(B * N, C).to(dtype))
    return out.reshape(B, H, W, C).permute(0, 3, 1, 2)


def token2map(tokens: TokenSet,
              map_size: Optional[Tuple[int, int]] = None,
              pairs: Optional[TokenMapPairs] = None) -> Tensor:
    """Transform tokens to a feature map.

    Every pixel is the average of the features of the tokens overlapping it, weighted by the
    overlap area counted in initial grid cells. A pixel that no cell reaches is 0.

    Args:
        tokens (TokenSet): Tokens with features x of shape (B, N, C).
        map_size (tuple[int, int], optional): (H, W) of the output map. Defaults to
            ``tokens.map_size`` (attention layers map key/value tokens at the query's size).
        pairs (TokenMapPairs, optional): :func:`token_map_pairs` of this token distribution;
            used when made for the same map size, or for the tokens' own map where the map
            size halves it (:func:`pairs_for`); computed otherwise.

    Returns:
        Tensor: Feature map, shape (B, C, H, W), dtype of ``tokens.x``.
    """
    x = tokens.x
    B, N, C = x.shape
    H, W = tokens.map_size if map_size is None else tuple(map_size)
    if tokens.is_grid and (H, W) == tokens.map_size:
        return x.transpose(1, 2).reshape(B, C, H, W)
    return _render(tokens, (H, W), tokens.pairs if pairs is None else pairs).to(x.dtype)


def map2token(feature_map: Tensor,
              tokens: TokenSet,
              pairs: Optional[TokenMapPairs] = None) -> Tensor:
    """Transform a feature map to the tokens of ``tokens``.

    Every token is the plain average, over its initial grid cells, of the pixel containing
    the cell (CVPR section 3.5: "the average image features in the token region"); as in the
    released code the aggregation weights are not used here.

    Args:
        feature_map (Tensor): Shape (B, C, H, W).
        tokens (TokenSet): Target token distribution (N tokens); its features are not used.
        pairs (TokenMapPairs, optional): :func:`token_map_pairs` of ``tokens``; used when
            made for (H, W), or for the tokens' own map where (H, W) halves it
            (:func:`pairs_for`); computed otherwise.

    Returns:
        Tensor: Token features, shape (B, N, C), dtype of ``feature_map``.
    """
    B, C, H, W = feature_map.shape
    N = tokens.num_tokens
    if tokens.is_grid and (H, W) == tokens.map_size:
        return feature_map.flatten(2).transpose(1, 2)
    pairs = tokens.pairs if pairs is None else pairs
    if _via_own_map(tokens, (H, W), pairs):
        # Every cell reads the pixel holding it: on the own map, that pixel's value.
        fine = F.interpolate(feature_map, size=tokens.map_size, mode='nearest')
        out = map2token(fine, tokens, pairs)
        # A grid token is its one cell, read unnormalised on its own map; at (H, W) its
        # share of its cells is 1 / (1 + EPS).
        return out * (1 / (1 + EPS)) if tokens.is_grid else out

    pairs = _get_pairs(tokens, (H, W), pairs)
    rows = feature_map.permute(0, 2, 3, 1).reshape(B * H * W,
                                                   C).to(_compute_dtype(feature_map.dtype))
    out = pairs.to_tokens(rows)
    return out.reshape(B, N, C).to(feature_map.dtype)


def token2token(source: TokenSet, target: TokenSet) -> Tensor:
    """Copy features from one token distribution to another (MTA up-sampling, ``token_downup``).

    Target token t = sum over cells c with ``target.idx_token[c] == t`` of
    ``target.agg_weight[c] * source.x[source.idx_token[c]]``, normalised by the sum of those
    weights. Both sets must share the initial grid. The cells are first coalesced into distinct
    (target, source) pairs, as in :func:`token_map_pairs`: the features then move once per pair.

    Args:
        source (TokenSet): Tokens providing the features, x of shape (B, S, C).
        target (TokenSet): Token distribution of the output (T tokens).

    Returns:
        Tensor: Features in the target distribution, shape (B, T, C), dtype of ``source.x``.
    """
    if source.init_grid_size != target.init_grid_size:
        raise ValueError(f'token2token: source and target must share the initial grid, got '
                         f'{source.init_grid_size} and {target.init_grid_size}')
    x = source.x
    B, S, C = x.shape
    T = target.num_tokens
    device = x.device
    idx_s = source.idx_token + batch_offsets(B, S, device=device)
    idx_t = target.idx_token + batch_offsets(B, T, device=device)
    weight = target.agg_weight.detach().reshape(-1).to(_compute_dtype(target.agg_weight.dtype))
    pairs = coalesce(idx_t.reshape(-1), idx_s.reshape(-1), B * T, B * S, weight)
    sums = pairs.sums(normalise(pairs.weight, pairs.by_target.bag, B * T, EPS))
    out = sums(x.reshape(B * S, C).to(_compute_dtype(x.dtype)))
    return out.reshape(B, T, C).to(x.dtype)


def _sum_by_target(source: Tensor, index: Tensor, num: int) -> Tensor:
    """Row sums by target: row i of the result is the sum of the rows r with ``index[r] == i``
    (0 where none)."""
    return source.new_zeros((num, ) + source.shape[1:]).index_add_(0, index, source)


def _exp_score_weights(log_weight: Tensor, idx: Tensor, num_clusters: int) -> Tuple[Tensor, Tensor]:
    """p_j = exp(s_j) and the 1e-6 of eq. 3, both divided by exp(m) with m the largest score
    of the token's cluster, so that nothing overflows; (B*N, 1) and (B*M, 1).

    Computed in fp32 even under autocast: exp of a bf16 score loses most of its precision.
    """
    cluster_max = log_weight.new_full((num_clusters, 1),
                                      float('-inf')).scatter_reduce(0,
                                                                    idx.unsqueeze(1),
                                                                    log_weight.detach(),
                                                                    reduce='amax',
                                                                    include_self=True)
    weight = (log_weight - cluster_max[idx]).exp()
    # An empty cluster has max -inf: its eps term is inf and no token reads it.
    return weight, (math.log(EPS) - cluster_max).exp()


def _move_cells(tokens: TokenSet, idx_cluster: Tensor,
                norm_weight: Tensor) -> Tuple[Tensor, Tensor]:
    """``idx_token`` and ``agg_weight`` after a merge: every initial cell moves with its token,
    into the token's cluster, its weight scaled by the token's normalised weight (B*N, 1)."""
    B, N = idx_cluster.shape
    idx_old = (tokens.idx_token + batch_offsets(B, N, device=idx_cluster.device)).reshape(-1)
    idx_token = idx_cluster.reshape(-1)[idx_old].reshape(B, -1)
    agg_weight = tokens.agg_weight.to(norm_weight.dtype) * norm_weight[idx_old].reshape(B, -1, 1)
    return idx_token, agg_weight


def merge_tokens(tokens: TokenSet,
                 clusters: Clusters,
                 map_size: Tuple[int, int],
                 *,
                 token_weight: Optional[Tensor] = None,
                 score: Optional[Tensor] = None) -> TokenSet:
    """Merge the tokens of every cluster into one token (eq. 3 of the TPAMI paper).

    Within a cluster the token weights are normalised, w_j = p_j / (sum_{j in C_i} p_j + 1e-6)
    (the 1e-6 as released; it also makes an empty cluster a zero token instead of NaN), and the
    merged feature is sum_j w_j x_j. Every initial cell follows its token into the cluster and
    its ``agg_weight`` is multiplied by the token's w_j.

    Args:
        tokens (TokenSet): Tokens to merge, x of shape (B, N, C).
        clusters (Clusters): ``idx`` (B, N), the cluster of every token in [0, M), and
            ``num_clusters`` M (the same for every image).
        map_size (tuple[int, int]): (H, W) of the merged tokens' feature map.
        token_weight (Tensor, optional): p_j, shape (B, N, 1); None for ones (or when
            ``score`` is given).
        score (Tensor, optional): Importance score s_j, shape (B, N, 1): p_j = exp(s_j), the
            CTM's weights. Computed without overflow: exp(s_j - m) / (sum exp(s_j - m) +
            1e-6 exp(-m)) with m the cluster's largest score is exactly the released
            exp(s_j) / (sum exp(s_j) + 1e-6), also where the 1e-6 matters (very negative
            scores), and stays finite where the released exp overflows.

    Returns:
        TokenSet: M merged tokens, ``score`` None, ``parts`` = ``clusters.parts`` (the
        merged tokens are in the clusters' order); differentiable w.r.t. ``tokens.x`` and
        ``token_weight`` / ``score``.
    """
    idx_cluster, num_clusters = clusters.idx, clusters.num_clusters
    x = tokens.x
    B, N, C = x.shape
    device = x.device
    dtype = _compute_dtype(x.dtype)
    idx = (idx_cluster + batch_offsets(B, num_clusters, device=device)).reshape(-1)
    if score is not None:
        if token_weight is not None:
            raise ValueError('merge_tokens: give token_weight or score, not both')
        weight, eps = _exp_score_weights(score.reshape(B * N, 1).to(dtype), idx, B * num_clusters)
    else:
        if token_weight is None:
            token_weight = torch.ones(B, N, 1, device=device, dtype=dtype)
        weight = token_weight.reshape(B * N, 1).to(dtype)
        eps = EPS
    cluster_weight = weight.new_zeros(B * num_clusters, 1).index_add(0, idx, weight) + eps
    norm_weight = weight / cluster_weight[idx]  # (B*N, 1)
    x_merged = _sum_by_target(x.reshape(B * N, C).to(dtype) * norm_weight, idx, B * num_clusters)

    idx_token, agg_weight = _move_cells(tokens, idx_cluster, norm_weight)
    return TokenSet(x=x_merged.reshape(B, num_clusters, C).to(x.dtype),
                    map_size=map_size,
                    init_grid_size=tokens.init_grid_size,
                    idx_token=idx_token,
                    agg_weight=agg_weight,
                    parts=clusters.parts)
