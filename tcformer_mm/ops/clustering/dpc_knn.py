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
- Bounded memory. The distance matrix is computed in blocks of rows (pass 1: the kNN density,
  the maximum distance and the nearest ``NUM_NEIGHBOURS`` tokens of every token), and the
  assignment is blocked too. Once the density order is known, a token's nearest denser token is
  the first denser one in its neighbour list, if there is one; only the remaining tokens (local
  density maxima, ~7% at k=8) are compared with all denser tokens, in density order so that a
  block needs only the columns of the tokens denser than its rows. The assignment reads the
  neighbour lists the same way (a token's nearest centre is the first listed centre, if any);
  only the tokens without a listed centre are compared with all centres. Peak memory is
  O(block + N C) instead of O(N^2): global clustering of the 67,200 tokens of the first CTM at
  800x1344 input stays far below 8 GB (``tools/analysis_tools/dpc_knn_memory.py``) where the
  released code asks for one 18 GB allocation. Blocks are kept cache-sized for speed
  (``distance.CACHE_BLOCK_BYTES``); the results do not depend on the block size.
- Padding (from the local-CTM partition). A padded token is never a kNN neighbour of a real
  token (infinite distance), has density -1 (below every real token), never counts as denser,
  never enters the maximum distance and never becomes a centre; its assignment is meaningless
  and dropped by the caller. If a part has fewer than k real tokens, the density averages over
  the real neighbours it has.
- Features are centred (minus the mean of the real tokens) before the distances: a no-op in
  exact arithmetic that keeps the |a|^2 + |b|^2 - 2ab expansion accurate.

Where the static formulation runs (accelerators, graph capture, ``TCFORMER_SYNC_FREE=1``; see
``ops/sync_free.py``) no step depends on how many tokens the neighbour lists settle: every
token is compared with all tokens for its nearest denser one and with all centres for its
cluster (the released code's O(N^2) work, in blocks sized for the device). The results are
the same; only the amount of work differs.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from ..sync_free import sync_free
from .base import ClusteringMethod, check_positive_int
from .distance import (DEFAULT_BLOCK_BYTES, BlockBuffer, block_rows, nearest_centre,
                       partial_sq_dist_block, smallest_k)
from .partition import Partition


def _prepare(x: Tensor, valid: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    """Centred features scaled by 1 / sqrt(C), padding zeroed; squared norms; the mask. fp32
    (fp64 stays fp64, so that fp64 models cluster in exact arithmetic)."""
    x = x.detach().to(torch.promote_types(x.dtype, torch.float32))
    B, N, C = x.shape
    if valid is None:
        valid = torch.ones(B, N, dtype=torch.bool, device=x.device)
    vf = valid.unsqueeze(-1).float()
    mean = (x * vf).sum(1, keepdim=True) / vf.sum(1, keepdim=True).clamp(min=1)
    x = (x - mean) * (vf * C**-0.5)
    return x, (x * x).sum(-1), valid


#: Neighbours kept per token by the kNN pass. Beyond the k of the density they serve the
#: distance indicator: the nearest denser token of most tokens is among them.
NUM_NEIGHBOURS = 8


@torch.no_grad()
def dpc_knn_score(x: Tensor,
                  k: int = 5,
                  valid: Optional[Tensor] = None,
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
    score, density, _ = _score_and_neighbours(x, k, valid, max_block_bytes)
    return score, density


class _Neighbours(NamedTuple):
    """What the score pass knows that the assignment reuses."""
    x: Tensor  # prepared features (B, N, C)
    valid: Tensor  # (B, N)
    d2: Tensor  # squared distances to the nearest tokens, ascending (B, N, K)
    idx: Tensor  # those tokens (B, N, K)


def _score_and_neighbours(x: Tensor, k: int, valid: Optional[Tensor],
                          max_block_bytes: int) -> Tuple[Tensor, Tensor, _Neighbours]:
    """:func:`dpc_knn_score`, and the nearest ``NUM_NEIGHBOURS`` tokens of every token."""
    static = sync_free(x.device)
    has_padding = valid is not None and (static or not bool(valid.all()))
    x, sq, valid = _prepare(x, valid)
    B, N, C = x.shape
    device = x.device
    rows = block_rows(B, N, max_block_bytes, device)
    k = min(k, N)
    # The static formulation searches exhaustively: the lists serve the density alone.
    num_nbrs = min(N, k if static else max(k, NUM_NEIGHBOURS))
    pad_col = ~valid.unsqueeze(1)  # (B, 1, N)

    # Pass 1: the nearest neighbours and the largest distance between real tokens. Blocks
    # hold partial squared distances |x_j|^2 - 2 x_i.x_j (see distance.py); the token itself
    # is set to -|x_i|^2, i.e. distance 0, and max(. + |x_i|^2, 0) gives the distances.
    nbr_d2 = torch.empty(B, N, num_nbrs, device=device, dtype=x.dtype)
    nbr_idx = torch.empty(B, N, num_nbrs, dtype=torch.long, device=device)
    row_max = torch.empty(B, N, device=device, dtype=x.dtype)
    block, scratch = BlockBuffer(device, x.dtype), BlockBuffer(device, x.dtype)
    for r0 in range(0, N, rows):
        r1 = min(N, r0 + rows)
        d2 = partial_sq_dist_block(x[:, r0:r1], x, sq, block)
        diag = torch.arange(r1 - r0, device=device)
        d2[:, diag, diag + r0] = -sq[:, r0:r1]
        if has_padding:
            d2.masked_fill_(pad_col, float('-inf'))
            row_max[:, r0:r1] = d2.amax(dim=-1)
            d2.masked_fill_(pad_col, float('inf'))
            nbr_d2[:, r0:r1], nbr_idx[:, r0:r1] = smallest_k(d2, num_nbrs, buffer=scratch)
        else:
            nbr_d2[:, r0:r1], nbr_idx[:, r0:r1], row_max[:, r0:r1] = smallest_k(d2,
                                                                                num_nbrs,
                                                                                with_max=True,
                                                                                buffer=scratch)
    nbr_d2.add_(sq.unsqueeze(-1)).clamp_(min=0)
    row_max = row_max.add_(sq).clamp_(min=0).masked_fill_(~valid, 0)
    max_d2 = row_max.amax(dim=1)

    knn = nbr_d2[..., :k]
    if has_padding:
        real = torch.isfinite(knn)
        mean_d2 = knn.masked_fill(~real, 0).sum(-1) / real.sum(-1).clamp(min=1)
    else:
        mean_d2 = knn.mean(-1)
    density = torch.exp(-mean_d2).masked_fill_(~valid, -1.0)

    # Strict total order of density: equal densities rank by index (stable sort), padding
    # ranks last. In this order the tokens denser than token i are those of lower rank.
    order = torch.sort(density, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order).scatter_(
        1, order,
        torch.arange(N, device=device).expand(B, N).contiguous())

    if static:
        min_d2 = _nearest_denser_all(x, sq, rank, max_block_bytes)
    else:
        min_d2 = _nearest_denser_listed(x, sq, order, rank, valid, nbr_d2, nbr_idx, max_block_bytes)
    min_d2 = torch.where(torch.isinf(min_d2), max_d2.unsqueeze(1), min_d2)

    score = (density * min_d2.sqrt()).masked_fill_(~valid, float('-inf'))
    return score, density, _Neighbours(x, valid, nbr_d2, nbr_idx)


def _nearest_denser_listed(x: Tensor, sq: Tensor, order: Tensor, rank: Tensor, valid: Tensor,
                           nbr_d2: Tensor, nbr_idx: Tensor, max_block_bytes: int) -> Tensor:
    """Squared distance to the nearest denser token of every token (inf for the densest), the
    data-dependent formulation: from the neighbour lists where they settle it, exhaustively
    for the rest."""
    B, N = rank.shape
    # If a neighbour of token i is denser, the first denser one in the (ascending) neighbour
    # list is its nearest denser token: every token closer than it is in the list before it.
    denser = torch.gather(rank, 1, nbr_idx.reshape(B, -1)).reshape(B, N, -1) < rank.unsqueeze(-1)
    found = denser.any(-1)
    first = denser.to(torch.uint8).argmax(-1, keepdim=True)
    min_d2 = torch.gather(nbr_d2, 2, first).squeeze(-1)
    todo = ~found & valid
    if bool(todo.any()):
        _nearest_denser_exhaustive(x, sq, order, rank, todo, min_d2, max_block_bytes)
    return min_d2


def _nearest_denser_all(x: Tensor, sq: Tensor, rank: Tensor, max_block_bytes: int) -> Tensor:
    """Squared distance to the nearest denser token of every token (inf for the densest), the
    static formulation: every block of rows against all tokens, the tokens that are not
    denser masked out (padding ranks last: it is never denser)."""
    B, N, _ = x.shape
    rows = block_rows(B, N, max_block_bytes, x.device)
    result = torch.empty(B, N, device=x.device, dtype=x.dtype)
    block = BlockBuffer(x.device, x.dtype)
    for r0 in range(0, N, rows):
        r1 = min(N, r0 + rows)
        d2 = partial_sq_dist_block(x[:, r0:r1], x, sq, block)
        not_denser = rank.unsqueeze(1) >= rank[:, r0:r1].unsqueeze(-1)  # (B, R, N)
        result[:, r0:r1] = d2.masked_fill_(not_denser, float('inf')).amin(dim=-1)
    return result.add_(sq).clamp_(min=0)


def _nearest_denser_exhaustive(x: Tensor, sq: Tensor, order: Tensor, rank: Tensor, todo: Tensor,
                               min_d2: Tensor, max_block_bytes: int) -> None:
    """Squared distance to the nearest denser token of the ``todo`` tokens, over all tokens.

    Written into ``min_d2`` (inf for the densest token). The tokens are taken in density
    order, so a block of them only needs the columns of the tokens denser than its last one
    (the lower triangle of the density-sorted distance matrix).
    """
    B, N, C = x.shape
    device = x.device
    count = todo.sum(1, keepdim=True)
    num_todo = int(count.max())
    # Ranks of the todo tokens, ascending; rows past an image's count repeat its last one
    # (computed, not written back).
    todo_rank = torch.where(todo, rank, N).sort(dim=1).values[:, :num_todo]
    last = torch.where(todo_rank < N, todo_rank, -1).amax(1, keepdim=True).clamp(min=0)
    todo_rank = torch.where(todo_rank < N, todo_rank, last)
    tokens = torch.gather(order, 1, todo_rank)  # (B, U)
    x_sorted = torch.gather(x, 1, order.unsqueeze(-1).expand(B, N, C))
    sq_sorted = torch.gather(sq, 1, order)
    x_todo = torch.gather(x, 1, tokens.unsqueeze(-1).expand(-1, -1, C))
    sq_todo = torch.gather(sq, 1, tokens)
    result = torch.empty(B, num_todo, device=device, dtype=x.dtype)
    rows = block_rows(B, N, max_block_bytes, device)
    block = BlockBuffer(device, x.dtype)
    for r0 in range(0, num_todo, rows):
        r1 = min(num_todo, r0 + rows)
        # Columns: every token denser than the block's last (least dense) row.
        cols = max(1, int(todo_rank[:, r1 - 1].max()))
        d2 = partial_sq_dist_block(x_todo[:, r0:r1], x_sorted[:, :cols], sq_sorted[:, :cols], block)
        not_denser = (torch.arange(cols, device=device)
                      >= todo_rank[:, r0:r1].unsqueeze(-1))  # (B, R, cols)
        result[:, r0:r1] = d2.masked_fill_(not_denser, float('inf')).amin(dim=-1)
    _write_back(min_d2, tokens, count, result.add_(sq_todo).clamp_(min=0))


def _write_back(dst: Tensor, tokens: Tensor, count: Tensor, values: Tensor) -> None:
    """``dst[b, tokens[b, u]] = values[b, u]`` for the first ``count[b]`` columns of every
    image (the others pad the per-image lists of tokens to one length)."""
    B, U = tokens.shape
    keep = torch.arange(U, device=tokens.device) < count
    batch = torch.arange(B, device=tokens.device).unsqueeze(1).expand(B, U)
    dst[batch[keep], tokens[keep]] = values[keep]


def select_centres(score: Tensor, num_clusters: int) -> Tensor:
    """The ``num_clusters`` top-scored tokens (ties: lowest index), in descending score order.

    Args:
        score (Tensor): Shape (B, N); -inf marks tokens that must not be centres.
        num_clusters (int): M <= number of tokens with a finite score.

    Returns:
        Tensor: Long, shape (B, M), token indices of the centres.
    """
    return torch.sort(score, dim=1, descending=True, stable=True).indices[:, :num_clusters]


def assign_to_centres(x: Tensor,
                      centres: Tensor,
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
def dpc_knn(x: Tensor,
            num_clusters: int,
            k: int = 5,
            valid: Optional[Tensor] = None,
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
    score, _, neighbours = _score_and_neighbours(x, k, valid, max_block_bytes)
    centres = select_centres(score, num_clusters)
    if sync_free(x.device):
        # Static shapes: every token searches all centres.
        return assign_to_centres(neighbours.x, centres, max_block_bytes)
    return _assign_with_neighbours(neighbours, centres, max_block_bytes)


def _assign_with_neighbours(nb: _Neighbours, centres: Tensor, max_block_bytes: int) -> Tensor:
    """:func:`assign_to_centres`, searching the neighbour lists of the score pass first.

    If a token's (ascending) neighbour list holds a centre, its nearest centre is the first
    listed one: every unlisted token is at least as far as the last listed one. Among listed
    centres at that distance the lowest cluster id wins; if the list ends at that distance an
    unlisted centre could tie, so the token is searched exhaustively, as are the tokens with
    no listed centre (with centres a quarter of the tokens, few of them).
    """
    x, valid = nb.x, nb.valid
    B, N, C = x.shape
    M = centres.shape[1]
    device = x.device
    cluster_ids = torch.arange(M, device=device).expand(B, M).contiguous()
    centre_id = torch.full((B, N), M, dtype=torch.long,
                           device=device).scatter_(1, centres, cluster_ids)
    listed = torch.gather(centre_id, 1, nb.idx.reshape(B, -1)).reshape(nb.idx.shape)
    is_centre = listed < M
    first = is_centre.to(torch.uint8).argmax(-1, keepdim=True)
    nearest_d2 = torch.gather(nb.d2, 2, first)
    idx_cluster = torch.where(is_centre & (nb.d2 == nearest_d2), listed, M).amin(-1)
    todo = (idx_cluster == M) | (nb.d2[..., -1] == nearest_d2.squeeze(-1))
    todo &= valid
    if nb.idx.shape[-1] < N and bool(todo.any()):
        count = todo.sum(1, keepdim=True)
        num_todo = int(count.max())
        # The todo tokens of every image first, in index order.
        tokens = torch.sort(todo.to(torch.uint8), dim=1, descending=True,
                            stable=True).indices[:, :num_todo]
        x_todo = torch.gather(x, 1, tokens.unsqueeze(-1).expand(B, num_todo, C))
        centre_x = torch.gather(x, 1, centres.unsqueeze(-1).expand(B, M, C))
        _write_back(idx_cluster, tokens, count, nearest_centre(x_todo, centre_x, max_block_bytes))
    # Padding (never searched) joins cluster 0; the caller drops it.
    idx_cluster.masked_fill_(idx_cluster == M, 0)
    # A centre could tie with an earlier centre of identical features; it still owns itself.
    return idx_cluster.scatter_(1, centres, cluster_ids)


class DPCKNN(ClusteringMethod):
    """DPC-kNN clustering, global (num_parts=1) or local (num_parts > 1).

    Args:
        k (int): Number of nearest neighbours of the density. Default: 5.
        max_block_bytes (int): Memory bound of one block of the distance matrix.
    """

    def __init__(self, k: int = 5, max_block_bytes: int = DEFAULT_BLOCK_BYTES):
        # k = 1 is allowed (every density is 1: the centres are the most isolated tokens).
        self.k = check_positive_int('dpc_knn', 'k', k)
        self.max_block_bytes = check_positive_int('dpc_knn', 'max_block_bytes', max_block_bytes)

    def cluster_parts(self, tokens, parts: Partition) -> Tensor:
        valid = parts.valid if parts.padded else None
        return dpc_knn(parts.x, parts.num_clusters, self.k, valid, self.max_block_bytes)
