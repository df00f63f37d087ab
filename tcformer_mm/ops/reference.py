"""The token operations of TCFormer as plain dense tensor code, to read beside the papers.

Every function here is the obvious formula: full N x N distances, one-hot assignment matrices,
explicit normalisers, exactly as the released implementation computes them (the "+ 1e-6" of
every normaliser included). They cost O(N^2) memory and are meant for tests and for reading;
the model uses the fast ops of :mod:`tcformer_mm.ops.transforms` and
:mod:`tcformer_mm.ops.clustering`, which are tested against these.

Notation (CVPR 2022 section 3, TPAMI 2024 section 3): N0 initial grid cells (the stage-1
tokens), N tokens, a map of H x W pixels. ``idx_token`` (B, N0) says which token every cell
belongs to, ``agg_weight`` (B, N0, 1) the cell's weight inside its token.

The only deliberate difference from the released computation is the tie-breaking of DPC-kNN
(see :func:`dpc_knn`); ``docs/fidelity.md`` lists the differences of the fast ops.
"""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .clustering.dpc_knn import DEFAULT_K
from .clustering.partition import clusters_per_part
from .token_set import TokenSet, grid_to_map_index

#: The released code's "+ 1e-6" in every normaliser.
EPS = 1e-6


def one_hot(index: Tensor, num: int, dtype: torch.dtype) -> Tensor:
    """(..., K) float matrix with a 1 at ``index`` in every row."""
    return F.one_hot(index, num).to(dtype)


def cell_token_matrix(tokens: TokenSet) -> Tensor:
    """A (B, N0, N): A[b, c, t] = 1 if cell c belongs to token t."""
    return one_hot(tokens.idx_token, tokens.num_tokens, _dtype(tokens.x))


def cell_pixel_matrix(tokens: TokenSet, map_size: Tuple[int, int]) -> Tensor:
    """P (N0, H*W): P[c, p] = 1 if cell c lies in pixel p of an (H, W) map."""
    H, W = map_size
    pixel = grid_to_map_index(tokens.init_grid_size, (H, W), tokens.x.device)
    return one_hot(pixel, H * W, _dtype(tokens.x))


def _is_grid(tokens: TokenSet, map_size: Tuple[int, int]) -> bool:
    """The released shortcut: tokens that are the pixels of the map (N == N0 == H * W) are
    reshaped, without a normaliser."""
    N0 = tokens.init_grid_size[0] * tokens.init_grid_size[1]
    return tokens.num_tokens == N0 == map_size[0] * map_size[1]


def _dtype(x: Tensor) -> torch.dtype:
    return torch.promote_types(x.dtype, torch.float32)


def token2map(tokens: TokenSet, map_size: Tuple[int, int] = None) -> Tensor:
    """Tokens -> feature map (CVPR section 3.5).

    A pixel is the mean of the tokens of its cells, every cell weighing 1:
    map[p] = sum_c P[c, p] x[token(c)] / (number of cells in p + 1e-6). Grid tokens drawn on
    their own grid are reshaped.

    Returns:
        Tensor: (B, C, H, W).
    """
    H, W = tokens.map_size if map_size is None else map_size
    x = tokens.x.to(_dtype(tokens.x))
    B, N, C = x.shape
    if _is_grid(tokens, (H, W)):
        return x.transpose(1, 2).reshape(B, C, H, W)
    weight = cell_pixel_matrix(tokens, (H, W)).T @ cell_token_matrix(tokens)  # (B, HW, N)
    out = weight @ x / (weight.sum(-1, keepdim=True) + EPS)
    return out.transpose(1, 2).reshape(B, C, H, W)


def map2token(feature_map: Tensor, tokens: TokenSet) -> Tensor:
    """Feature map -> tokens (CVPR section 3.5: "the average image features in the token
    region").

    A token is the plain mean, over its cells, of the pixel each cell lies in; the aggregation
    weights are not used: x[t] = sum_c A[c, t] map[pixel(c)] / (number of cells of t + 1e-6).
    A map of the initial grid's size is read back into grid tokens by a reshape.

    Returns:
        Tensor: (B, N, C).
    """
    B, C, H, W = feature_map.shape
    if _is_grid(tokens, (H, W)):
        return feature_map.to(_dtype(feature_map)).flatten(2).transpose(1, 2)
    weight = cell_token_matrix(tokens).transpose(1, 2) @ cell_pixel_matrix(tokens, (H, W))
    pixels = feature_map.to(weight.dtype).flatten(2).transpose(1, 2)  # (B, HW, C)
    return weight @ pixels / (weight.sum(-1, keepdim=True) + EPS)


def token2token(source: TokenSet, target: TokenSet) -> Tensor:
    """Tokens of one distribution -> tokens of another (the MTA's up-sampling, released
    ``token_downup``).

    Every cell carries its source token's feature with the *target*'s aggregation weight:
    x_t = sum_c A_t[c, t] w_t[c] x_s[source(c)] / (sum_c A_t[c, t] w_t[c] + 1e-6).

    Returns:
        Tensor: (B, T, C).
    """
    a_t = cell_token_matrix(target) * target.agg_weight.to(_dtype(target.x))
    weight = a_t.transpose(1, 2) @ cell_token_matrix(source)  # (B, T, S)
    return weight @ source.x.to(weight.dtype) / (weight.sum(-1, keepdim=True) + EPS)


def merge_tokens(tokens: TokenSet, idx_cluster: Tensor, num_clusters: int, score: Tensor,
                 map_size: Tuple[int, int]) -> TokenSet:
    """Merge every cluster into one token (TPAMI eq. 3, CVPR eq. 3).

    p_j = exp(s_j); y_i = sum_{j in C_i} p_j x_j / (sum_{j in C_i} p_j + 1e-6). A cell of token
    j now belongs to cluster i, with weight agg_weight * p_j / (sum_{j in C_i} p_j + 1e-6).

    Args:
        tokens (TokenSet): x (B, N, C).
        idx_cluster (Tensor): Long (B, N), the cluster of every token.
        num_clusters (int): M.
        score (Tensor): Importance score s, (B, N, 1).
        map_size (tuple[int, int]): Map size of the merged tokens.

    Returns:
        TokenSet: M tokens.
    """
    x = tokens.x.to(_dtype(tokens.x))
    member = one_hot(idx_cluster, num_clusters, x.dtype)  # (B, N, M)
    p = score.to(x.dtype).exp()  # (B, N, 1)
    cluster_sum = member.transpose(1, 2) @ p  # (B, M, 1)
    w = p / (member @ cluster_sum + EPS)  # (B, N, 1)
    merged = member.transpose(1, 2) @ (w * x)
    idx_token = torch.gather(idx_cluster, 1, tokens.idx_token)
    agg_weight = tokens.agg_weight.to(x.dtype) * torch.gather(w, 1, tokens.idx_token.unsqueeze(-1))
    return TokenSet(x=merged,
                    map_size=map_size,
                    init_grid_size=tokens.init_grid_size,
                    idx_token=idx_token,
                    agg_weight=agg_weight)


def dpc_knn(x: Tensor, num_clusters: int, k: int = DEFAULT_K) -> Tensor:
    """DPC-kNN clustering of one set of tokens per image (TPAMI eq. 1-2, CVPR eq. 1-2).

    - d_ij = ||x_i - x_j||_2 / sqrt(C).
    - Density rho_i = exp(-(1/k) sum_{j in kNN(i)} d_ij^2); the k nearest include i itself.
    - Distance indicator delta_i = min_{j: rho_j > rho_i} d_ij; for the densest token the
      largest d_ij of the image.
    - Centres: the M tokens of largest rho_i * delta_i, cluster m being the centre of rank m.
    - Every token joins its nearest centre; a centre joins itself.

    Ties: where the released code added ``rand * 1e-6`` to the density (different clusters at
    every call), equal densities rank the lower index as denser; equal scores and equal
    distances to two centres go to the lower index / rank.

    Args:
        x (Tensor): Features (B, N, C).
        num_clusters (int): M.
        k (int): Neighbours of the density.

    Returns:
        Tensor: Long (B, N), cluster ids in [0, M).
    """
    B, N, C = x.shape
    x = x.to(_dtype(x))
    # Differences, not the |a|^2 + |b|^2 - 2ab expansion: a token's distance to itself is 0.
    dist = torch.cdist(x, x, compute_mode='donot_use_mm_for_euclid_dist') / math.sqrt(C)
    knn = dist.topk(min(k, N), dim=-1, largest=False).values
    density = (-(knn**2).mean(-1)).exp()  # (B, N)
    index = torch.arange(N, device=x.device)
    rho_i, rho_j = density.unsqueeze(2), density.unsqueeze(1)
    denser = (rho_j > rho_i) | ((rho_j == rho_i) & (index.view(1, 1, N) < index.view(1, N, 1)))
    delta = dist.masked_fill(~denser, float('inf')).amin(-1)
    dist_max = dist.flatten(1).amax(-1, keepdim=True)
    delta = torch.where(denser.any(-1), delta, dist_max)
    score = density * delta
    centres = torch.sort(score, dim=1, descending=True, stable=True).indices[:, :num_clusters]
    to_centre = torch.gather(dist, 2, centres.unsqueeze(1).expand(B, N, num_clusters))
    idx_cluster = to_centre.argmin(-1)  # the first (highest-ranked) of equally near centres
    own = torch.arange(num_clusters, device=x.device).expand(B, num_clusters)
    return idx_cluster.scatter(1, centres, own)


def token_part(tokens: TokenSet, num_parts: int) -> Tensor:
    """The spatial part (TPAMI section 3.2.1) of every token, (B, N).

    The initial grid is split into s x s windows, cell (r, c) lying in window
    (floor(r s / H0), floor(c s / W0)), the pixel of an s x s map that holds it. Clusters
    never cross windows, so the cells of a token share one window of every coarser split: a
    token's part is that of its cells.
    """
    s = math.isqrt(num_parts)
    cell_part = grid_to_map_index(tokens.init_grid_size, (s, s), tokens.x.device).unsqueeze(0)
    part = torch.zeros(tokens.x.shape[:2], dtype=torch.long, device=tokens.x.device)
    return part.scatter(1, tokens.idx_token, cell_part.expand_as(tokens.idx_token))


def local_dpc_knn(tokens: TokenSet,
                  num_parts: int,
                  ratio: float = 0.25,
                  k: int = DEFAULT_K) -> Tuple[Tensor, int]:
    """DPC-kNN within each of ``num_parts`` spatial parts (the local CTM of TPAMI section
    3.2.1); ``num_parts=1`` is the global clustering of TCFormerV1.

    Every part gets the same number of clusters M (``clusters_per_part``: ceil(N * ratio) for
    one part, otherwise round(N * ratio / P), at most the smallest part's size). Part p owns
    the cluster ids [p M, (p + 1) M).

    Returns:
        tuple[Tensor, int]: idx_cluster (B, N) and the number of clusters P * M.
    """
    B, N, _ = tokens.x.shape
    part = token_part(tokens, num_parts)
    sizes = torch.stack([torch.bincount(p, minlength=num_parts) for p in part])
    m = clusters_per_part(N, num_parts, ratio, int(sizes.min()))
    idx_cluster = torch.empty(B, N, dtype=torch.long, device=tokens.x.device)
    for b in range(B):
        for p in range(num_parts):
            members = (part[b] == p).nonzero().squeeze(1)
            local = dpc_knn(tokens.x[b:b + 1, members], m, k)[0]
            idx_cluster[b, members] = local + p * m
    return idx_cluster, num_parts * m
