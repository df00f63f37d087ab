"""DPC-kNN token clustering (eq. 1-2 of the TPAMI paper), as the released code computes it.

With d_ij = ||x_i - x_j||_2 / sqrt(C):

- density (eq. 1): rho_i = exp(-mean of d_ij^2 over the k nearest tokens j). As in the
  released ``topk(k, largest=False)`` over the row, the token itself (distance 0) is one of
  the k.
- distance indicator (eq. 2): delta_i = min d_ij over the tokens j of higher density; for the
  densest token the largest distance of the set (of the image, or of the part).
- centres: the M tokens of largest score rho * delta; cluster m is the centre of rank m.
- assignment: every token joins its nearest centre, and every centre itself.

:func:`dpc_knn` is these four steps; how the distances are searched (in blocks of rows, from
neighbour lists or exhaustively) is :class:`~.search.TokenSearch`'s business.

Deviations from the released code, all deliberate:

- Determinism. The released code added ``rand * 1e-6`` to the density to break ties, so it
  clustered differently at every call. Here the density order is the strict total order
  (rho_j, -j) > (rho_i, -i): on equal density the lower index counts as denser. Ties in score
  and in the nearest centre also go to the lowest index.
- Bounded memory. Peak memory is O(block + N C) instead of O(N^2): global clustering of the
  67,200 tokens of the first CTM at 800x1344 input stays far below 8 GB
  (``tools/analysis_tools/dpc_knn_memory.py``) where the released code asks for one 18 GB
  allocation. The results do not depend on the block size.
- Padding (from the local-CTM partition). A padded token has density -1 (below every real
  token), never counts as denser and never becomes a centre; its assignment is meaningless
  and dropped by the caller. If a part has fewer than k real tokens, the density averages
  over the real neighbours it has.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .base import ClusteringMethod, check_positive_int, register_clustering
from .distance import DEFAULT_BLOCK_BYTES
from .partition import Partition
from .search import TokenSearch

#: Neighbours of the density, k of eq. 1 (the papers' value).
DEFAULT_K = 5


@torch.no_grad()
def dpc_knn(x: Tensor,
            num_clusters: int,
            k: int = DEFAULT_K,
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
    search = TokenSearch(x, valid, max_block_bytes)
    score, _ = _score(search, k)
    centres = select_centres(score, num_clusters)
    return search.nearest_centre(centres)


@torch.no_grad()
def dpc_knn_score(x: Tensor,
                  k: int = DEFAULT_K,
                  valid: Optional[Tensor] = None,
                  max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> Tuple[Tensor, Tensor]:
    """Centre score and density of every token (eq. 1-2).

    Args:
        x (Tensor): Token features, shape (B, N, C).
        k (int): Number of nearest neighbours of the density.
        valid (Tensor, optional): Bool, shape (B, N); False marks padding.
        max_block_bytes (int): Memory bound of one block of the distance matrix.

    Returns:
        tuple[Tensor, Tensor]: score rho * delta (B, N), -inf on padding; density rho (B, N),
        -1 on padding.
    """
    return _score(TokenSearch(x, valid, max_block_bytes), k)


def _score(search: TokenSearch, k: int) -> Tuple[Tensor, Tensor]:
    """score = rho * delta and rho of every token of ``search``."""
    knn_d2 = search.nearest(k)
    density = torch.exp(-_mean_over_real(knn_d2, search.padded))  # eq. 1
    if search.padded:
        density = density.masked_fill_(~search.valid, -1.0)
    denser_d2 = search.nearest_denser(density_rank(density))
    # eq. 2; the densest token has no denser one (inf): it takes the largest distance of its
    # set, which no other token's distance exceeds.
    delta = torch.minimum(denser_d2, search.max_d2.unsqueeze(1)).sqrt()
    score = density * delta
    if search.padded:
        score = score.masked_fill_(~search.valid, float('-inf'))
    return score, density


def _mean_over_real(knn_d2: Tensor, padded: bool) -> Tensor:
    """Mean of the k squared distances; with padding, over the finite ones (the real
    neighbours: a part may have fewer than k real tokens)."""
    if not padded:
        return knn_d2.mean(-1)
    real = torch.isfinite(knn_d2)
    return knn_d2.masked_fill(~real, 0).sum(-1) / real.sum(-1).clamp(min=1)


def density_rank(density: Tensor) -> Tensor:
    """Rank of every token in the strict density order, (B, N): equal densities rank by index
    (a stable sort), padding (density -1) last. The tokens denser than token i are those of
    lower rank."""
    order = torch.sort(density, dim=1, descending=True, stable=True).indices
    # The rank of token i is its position in the order: the inverse permutation.
    return torch.argsort(order, dim=1)


def select_centres(score: Tensor, num_clusters: int) -> Tensor:
    """The ``num_clusters`` top-scored tokens (ties: lowest index), in descending score order.

    Args:
        score (Tensor): Shape (B, N); -inf marks tokens that must not be centres.
        num_clusters (int): M <= number of tokens with a finite score.

    Returns:
        Tensor: Long, shape (B, M), token indices of the centres.
    """
    return torch.sort(score, dim=1, descending=True, stable=True).indices[:, :num_clusters]


@register_clustering('dpc_knn')
class DPCKNN(ClusteringMethod):
    """DPC-kNN clustering, global (num_parts=1) or local (num_parts > 1).

    Args:
        k (int): Number of nearest neighbours of the density. Default: :data:`DEFAULT_K`.
        **kwargs: ``ratio`` and ``max_block_bytes`` of :class:`ClusteringMethod`.
    """

    def __init__(self, k: int = DEFAULT_K, **kwargs):
        super().__init__(**kwargs)
        # k = 1 is allowed (every density is 1: the centres are the most isolated tokens).
        self.k = check_positive_int('dpc_knn', 'k', k)

    def cluster_parts(self, tokens, parts: Partition) -> Tensor:
        valid = parts.valid if parts.padded else None
        return dpc_knn(parts.x, parts.num_clusters, self.k, valid, self.max_block_bytes)

    def flops(self, num_tokens: int, channels: int, num_parts: int, num_clusters: int) -> int:
        # The papers' rule: distances within each part, the kNN density, the distance
        # indicator.
        n = num_tokens
        return n * n * channels // num_parts + n * self.k + n * n // num_parts
