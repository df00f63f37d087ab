"""DPC-kNN token clustering (eq. 1-2 of the TPAMI paper), as the released code computes it.

- d_ij = ||x_i - x_j||_2 / sqrt(C).
- Density rho_i = exp(-mean of d_ij^2 over the k nearest tokens j). As in the released
  ``topk(k, largest=False)`` over the row, the token itself (distance 0) is one of the k.
- Distance indicator delta_i = min d_ij over the tokens j of higher density; for the densest
  token the maximum of the whole distance matrix (of the image, or of the part).
- score = rho * delta; the M top-scored tokens are the centres, every token joins its nearest
  centre and every centre joins itself. Cluster m is the centre of rank m in score order.

Deviations from the released code, all deliberate:
- Determinism. The released code added ``rand * 1e-6`` to the density to break ties, so it
  clustered differently at every call. Here the density order is the strict total order
  (rho_j, -j) > (rho_i, -i): on equal density the lower index counts as denser. Ties in score
  and in the nearest centre also go to the lowest index.
- Bounded memory. The distance matrix is computed in blocks of rows, twice (pass 1: kNN density
  and the maximum distance; pass 2: delta, once the density order is known, on the tokens
  sorted by density so that only the lower triangle is needed), and the assignment is blocked
  too. Peak memory is O(block + N C) instead of O(N^2): global clustering of the 67,200
  tokens of the first CTM at 800x1344 input peaks at about 1.2 GB RSS (whole process,
  ``tools/analysis_tools/dpc_knn_memory.py``) where the released code asks for one 18 GB
  allocation. Small inputs are a single block.
- Padding (from the local-CTM partition). A padded token is never a kNN neighbour of a real
  token (infinite distance), has density -1 (below every real token), never counts as denser,
  never enters the maximum distance and never becomes a centre; its assignment is meaningless
  and dropped by the caller. If a part has fewer than k real tokens, the density averages over
  the real neighbours it has.
- Features are centred (minus the mean of the real tokens) before the distances: a no-op in
  exact arithmetic that keeps the |a|^2 + |b|^2 - 2ab expansion accurate.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .base import ClusteringMethod
from .distance import DEFAULT_BLOCK_BYTES, nearest_centre, rows_per_block, sq_dist_block
from .partition import Partition


def _prepare(x: Tensor, valid: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    """Centred fp32 features scaled by 1 / sqrt(C), padding zeroed; squared norms; the mask."""
    x = x.detach().float()
    B, N, C = x.shape
    if valid is None:
        valid = torch.ones(B, N, dtype=torch.bool, device=x.device)
    vf = valid.unsqueeze(-1).float()
    mean = (x * vf).sum(1, keepdim=True) / vf.sum(1, keepdim=True).clamp(min=1)
    x = (x - mean) * (vf * C**-0.5)
    return x, (x * x).sum(-1), valid


@torch.no_grad()
def dpc_knn_score(x: Tensor, k: int = 5, valid: Optional[Tensor] = None,
                  max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> Tuple[Tensor, Tensor]:
    """Density and centre score of every token (eq. 1-2).

    Args:
        x (Tensor): Token features, shape (B, N, C).
        k (int): Number of nearest neighbours of the density.
        valid (Tensor, optional): Bool, shape (B, N); False marks padding.
        max_block_bytes (int): Memory bound of one block of the distance matrix.

    Returns:
        tuple[Tensor, Tensor]: score rho * delta (B, N), -inf on padding; density rho (B, N),
        -1 on padding.
    """
    x, sq, valid = _prepare(x, valid)
    B, N, C = x.shape
    device = x.device
    rows = rows_per_block(B, N, max_block_bytes)
    k = min(k, N)
    has_padding = not bool(valid.all())
    pad_col = ~valid.unsqueeze(1)  # (B, 1, N)

    # Pass 1: kNN density and the largest distance between real tokens.
    density = torch.empty(B, N, device=device)
    max_d2 = torch.zeros(B, device=device)
    for r0 in range(0, N, rows):
        r1 = min(N, r0 + rows)
        d2 = sq_dist_block(x[:, r0:r1], x, sq[:, r0:r1], sq)
        diag = torch.arange(r1 - r0, device=device)
        d2[:, diag, diag + r0] = 0
        if has_padding:
            d2.masked_fill_(pad_col, 0)
        row_max = d2.amax(dim=-1).masked_fill_(~valid[:, r0:r1], 0)
        max_d2 = torch.maximum(max_d2, row_max.amax(dim=-1))
        if has_padding:
            d2.masked_fill_(pad_col, float('inf'))
        knn = d2.topk(k, dim=-1, largest=False).values  # (B, R, k)
        if has_padding:
            real = torch.isfinite(knn)
            mean_d2 = knn.masked_fill_(~real, 0).sum(-1) / real.sum(-1).clamp(min=1)
        else:
            mean_d2 = knn.mean(-1)
        density[:, r0:r1] = torch.exp(-mean_d2)
    density.masked_fill_(~valid, -1.0)

    # Strict total order of density: equal densities rank by index (stable sort), padding
    # ranks last. In this order the tokens denser than token i are exactly those before it.
    order = torch.sort(density, dim=1, descending=True, stable=True).indices
    x_sorted = torch.gather(x, 1, order.unsqueeze(-1).expand(B, N, C))
    sq_sorted = torch.gather(sq, 1, order)

    # Pass 2: distance to the nearest denser token, over the lower triangle of the sorted
    # distance matrix (half of pass 1's work). The densest token has none: it gets the
    # maximum distance.
    min_d2_sorted = torch.empty(B, N, device=device)
    for r0 in range(0, N, rows):
        r1 = min(N, r0 + rows)
        d2 = sq_dist_block(x_sorted[:, r0:r1], x_sorted[:, :r1], sq_sorted[:, r0:r1],
                           sq_sorted[:, :r1])
        not_denser = torch.ones(r1 - r0, r1 - r0, dtype=torch.bool, device=device).triu_()
        d2[:, :, r0:r1].masked_fill_(not_denser, float('inf'))
        min_d2_sorted[:, r0:r1] = d2.amin(dim=-1)
    min_d2 = torch.empty_like(min_d2_sorted).scatter_(1, order, min_d2_sorted)
    min_d2 = torch.where(torch.isinf(min_d2), max_d2.unsqueeze(1), min_d2)

    score = (density * min_d2.sqrt()).masked_fill_(~valid, float('-inf'))
    return score, density


def select_centres(score: Tensor, num_clusters: int) -> Tensor:
    """The ``num_clusters`` top-scored tokens (ties: lowest index), in descending score order.

    Args:
        score (Tensor): Shape (B, N); -inf marks tokens that must not be centres.
        num_clusters (int): M <= number of tokens with a finite score.

    Returns:
        Tensor: Long, shape (B, M), token indices of the centres.
    """
    return torch.sort(score, dim=1, descending=True, stable=True).indices[:, :num_clusters]


def assign_to_centres(x: Tensor, centres: Tensor,
                      max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> Tensor:
    """Cluster of every token: its nearest centre; a centre is always its own cluster.

    Args:
        x (Tensor): Token features, shape (B, N, C).
        centres (Tensor): Long, shape (B, M), token indices of the centres.
        max_block_bytes (int): Memory bound of one block of the (N, M) distance matrix.

    Returns:
        Tensor: Long, shape (B, N), cluster ids in [0, M); cluster m is ``centres[:, m]``.
    """
    B, M = centres.shape
    centre_x = torch.gather(x, 1, centres.unsqueeze(-1).expand(B, M, x.shape[-1]))
    idx_cluster = nearest_centre(x, centre_x, max_block_bytes)
    # A centre could tie with an earlier centre of identical features; it still owns itself.
    idx_cluster.scatter_(1, centres,
                         torch.arange(M, device=x.device).unsqueeze(0).expand(B, M).contiguous())
    return idx_cluster


@torch.no_grad()
def dpc_knn(x: Tensor, num_clusters: int, k: int = 5, valid: Optional[Tensor] = None,
            max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> Tensor:
    """DPC-kNN clustering of every set of tokens in the batch (global clustering).

    Args:
        x (Tensor): Token features, shape (B, N, C).
        num_clusters (int): M, at most the number of real tokens of every set.
        k (int): Number of nearest neighbours of the density.
        valid (Tensor, optional): Bool, shape (B, N); False marks padding.
        max_block_bytes (int): Memory bound of one block of the distance matrix.

    Returns:
        Tensor: Long, shape (B, N), cluster ids in [0, M).
    """
    score, _ = dpc_knn_score(x, k, valid, max_block_bytes)
    centres = select_centres(score, num_clusters)
    x_prepared, _, _ = _prepare(x, valid)
    return assign_to_centres(x_prepared, centres, max_block_bytes)


class DPCKNN(ClusteringMethod):
    """DPC-kNN clustering, global (num_parts=1) or local (num_parts > 1).

    Args:
        k (int): Number of nearest neighbours of the density. Default: 5.
        max_block_bytes (int): Memory bound of one block of the distance matrix.
    """

    def __init__(self, k: int = 5, max_block_bytes: int = DEFAULT_BLOCK_BYTES):
        self.k = k
        self.max_block_bytes = max_block_bytes

    def cluster_parts(self, tokens, parts: Partition) -> Tensor:
        return dpc_knn(parts.x, parts.num_clusters, self.k, parts.valid, self.max_block_bytes)
