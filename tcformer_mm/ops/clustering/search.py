"""Nearest-token search for DPC-kNN and CTM-topk: how the distances of eq. 1-2 are searched.

:class:`TokenSearch` answers the three questions the clusterings ask of the distances
d_ij = ||x_i - x_j||_2 / sqrt(C) between the tokens of every set in a batch, without ever
holding an N x N matrix when N is large (blocks of rows, ``distance.py``):

- :meth:`~TokenSearch.nearest`: the k nearest tokens of every token (itself included), and the
  largest distance of the set (pass 1);
- :meth:`~TokenSearch.nearest_denser`: the nearest token of higher density;
- :meth:`~TokenSearch.nearest_centre`: the nearest of a set of centre tokens.

Two formulations give the same results (``ops/sync_free.py``):

- *data-dependent* (CPU): pass 1 keeps the nearest :data:`NUM_NEIGHBOURS` tokens of every token.
  A token's nearest denser token (or centre) is the first denser one (centre) in its ascending
  list, when the list has one: every token closer than it is in the list before it. Only the
  tokens the lists do not settle (local density maxima, ~7% at k=8; tokens without a listed
  centre) are searched exhaustively, the denser ones in density order, so that a block of them
  needs only the columns of the tokens denser than its rows.
- *static* (accelerators, graph capture): every token is compared with all tokens (all
  centres), in blocks sized for the device: the released code's O(N^2) work, with sizes that
  follow from the shapes alone.

Padding (from the local-CTM partition): a padded token is never a neighbour of a real token
(infinite distance), never enters the largest distance and, ranked last, is never denser.
Features are centred (minus the mean of the real tokens) first: a no-op in exact arithmetic that
keeps the |a|^2 + |b|^2 - 2ab expansion accurate.
"""
from typing import Optional

import torch
from torch import Tensor

from ..shape_constants import batch_offsets, ranks
from ..sync_free import sync_free
from .distance import (DEFAULT_BLOCK_BYTES, BlockBuffer, block_rows, nearest_centre,
                       partial_sq_dist_block, smallest_k)

#: Neighbours kept per token by pass 1 of the data-dependent formulation. Beyond the k of the
#: density they serve the distance indicator and the assignment.
NUM_NEIGHBOURS = 8


class TokenSearch:
    """Distance queries over a batch of token sets (see the module docstring).

    Args:
        x (Tensor): Token features, shape (B, N, C).
        valid (Tensor, optional): Bool, shape (B, N); False marks padding.
        max_block_bytes (int): Memory bound of one block of the distance matrix.
        static (bool, optional): Take the static formulation; None decides by device
            (:func:`sync_free`).

    Attributes:
        x (Tensor): The prepared features (centred, scaled by 1 / sqrt(C), padding zeroed),
            fp32 (fp64 stays fp64, so that fp64 models cluster in exact arithmetic).
        valid (Tensor): Bool (B, N).
        d2 (Tensor): The partial squared distances of all tokens (B, N, N) where pass 1 held
            them in one block in the static formulation (the whole matrix fits the memory
            bound), for eq. 2; else None.
    """

    def __init__(self,
                 x: Tensor,
                 valid: Optional[Tensor] = None,
                 max_block_bytes: int = DEFAULT_BLOCK_BYTES,
                 static: Optional[bool] = None):
        self.static = sync_free(x.device) if static is None else static
        self.padded = valid is not None and (self.static or not bool(valid.all()))
        x = x.detach().to(torch.promote_types(x.dtype, torch.float32))
        B, N, C = x.shape
        if self.padded:
            vf = valid.unsqueeze(-1).float()
            mean = (x * vf).sum(1, keepdim=True) / vf.sum(1, keepdim=True).clamp(min=1)
            self.x = (x - mean) * (vf * C**-0.5)
        else:
            self.x = torch.sub(x, x.mean(1, keepdim=True)).mul_(C**-0.5)
        self.sq = (self.x * self.x).sum(-1)
        self._valid = valid
        self.max_block_bytes = max_block_bytes
        self.rows = block_rows(B, N, max_block_bytes, x.device, self.static)
        self.nbr_d2 = self.nbr_idx = self.max_d2 = self.d2 = None

    @property
    def valid(self) -> Tensor:
        """Bool (B, N), False on padding."""
        if self._valid is None:
            self._valid = torch.ones(self.sq.shape, dtype=torch.bool, device=self.sq.device)
        return self._valid

    def nearest(self, k: int) -> Tensor:
        """Squared distances to the k nearest tokens of every token, ascending (B, N, k); the
        token itself (distance 0) is one of them, padding is infinitely far. Also records the
        neighbour lists and the largest distance (:attr:`max_d2`)."""
        x, sq = self.x, self.sq
        B, N, _ = x.shape
        k = min(k, N)
        # The static formulation searches exhaustively: the lists serve the density alone.
        num_nbrs = min(N, k if self.static else max(k, NUM_NEIGHBOURS))
        if self.rows >= N:
            # The static formulation keeps this block for eq. 2: it must not be shared memory.
            block = None if self.static else BlockBuffer.kept(x.device, x.dtype, B * N * N)
            nbr_d2, nbr_idx, row_max = self._nearest_block(0, N, num_nbrs, block)
        else:
            nbr_d2 = x.new_empty(B, N, num_nbrs)
            nbr_idx = torch.empty(B, N, num_nbrs, dtype=torch.long, device=x.device)
            row_max = x.new_empty(B, N)
            block = BlockBuffer.kept(x.device, x.dtype, B * self.rows * N)
            for r0 in range(0, N, self.rows):
                r1 = min(N, r0 + self.rows)
                nbr_d2[:, r0:r1], nbr_idx[:, r0:r1], row_max[:, r0:r1] = self._nearest_block(
                    r0, r1, num_nbrs, block)
        if not self.static or self.rows < N:
            self.d2 = None  # only one block holding every row is kept
        # The blocks hold |x_j|^2 - 2 x_i.x_j (distance.py): add |x_i|^2 to what is kept.
        self.nbr_d2 = nbr_d2.add_(sq.unsqueeze(-1)).clamp_(min=0)
        self.nbr_idx = nbr_idx
        row_max = row_max.add_(sq).clamp_(min=0)
        if self.padded:
            row_max = row_max.masked_fill_(~self.valid, 0)
        self.max_d2 = row_max.amax(dim=1)
        return self.nbr_d2[..., :k]

    def _nearest_block(self, r0: int, r1: int, num_nbrs: int, block: Optional[BlockBuffer] = None):
        """Neighbour lists and row maxima (partial squared distances) of rows [r0, r1)."""
        d2 = self.d2 = partial_sq_dist_block(self.x[:, r0:r1], self.x, self.sq, block)
        # The token itself: distance 0.
        d2.diagonal(r0, dim1=1, dim2=2).copy_(-self.sq[:, r0:r1])
        if not self.padded:
            return smallest_k(d2, num_nbrs, with_max=True, chunked=not self.static)
        pad_col = ~self.valid.unsqueeze(1)
        row_max = d2.masked_fill_(pad_col, float('-inf')).amax(dim=-1)
        values, cols = smallest_k(d2.masked_fill_(pad_col, float('inf')),
                                  num_nbrs,
                                  chunked=not self.static)
        return values, cols, row_max

    def nearest_denser(self, rank: Tensor) -> Tensor:
        """Squared distance to the nearest token of lower ``rank`` (higher density) of every
        token; inf for the densest.

        Args:
            rank (Tensor): Long (B, N), a permutation of [0, N) per set: the density order,
                padding last. :meth:`nearest` must have run.
        """
        if self.static:
            return self._nearest_denser_all(rank)
        B, N = rank.shape
        listed_rank = torch.gather(rank, 1, self.nbr_idx.reshape(B, -1)).reshape(B, N, -1)
        denser = listed_rank < rank.unsqueeze(-1)
        first = denser.to(torch.uint8).argmax(-1, keepdim=True)
        min_d2 = torch.gather(self.nbr_d2, 2, first).squeeze(-1)
        todo = ~denser.any(-1) & self.valid
        if bool(todo.any()):
            self._nearest_denser_of(todo, rank, out=min_d2)
        return min_d2

    def _nearest_denser_all(self, rank: Tensor) -> Tensor:
        """:meth:`nearest_denser`, every block of rows against all tokens (static sizes); from
        pass 1's distances where one block held them all."""
        if self.d2 is not None:
            return _denser_min(self.d2, rank, rank).add_(self.sq).clamp_(min=0)
        B, N = rank.shape
        result = self.x.new_empty(B, N)
        block = BlockBuffer.kept(self.x.device, self.x.dtype, B * self.rows * N)
        for r0 in range(0, N, self.rows):
            r1 = min(N, r0 + self.rows)
            result[:, r0:r1] = _min_denser(self.x[:, r0:r1], rank[:, r0:r1], self.x, self.sq, rank,
                                           block)
        return result.add_(self.sq).clamp_(min=0)

    def _nearest_denser_of(self, todo: Tensor, rank: Tensor, out: Tensor) -> None:
        """:meth:`nearest_denser` of the ``todo`` tokens, written into ``out``, over all
        tokens: the todo tokens in density order, each block of them against the tokens
        denser than its last (least dense) row (the lower triangle of the density-sorted
        distance matrix)."""
        x, sq = self.x, self.sq
        B, N, _ = x.shape
        order = torch.empty_like(rank).scatter_(1, rank, _arange_like(rank))
        count = todo.sum(1, keepdim=True)
        num_todo = int(count.max())
        # Ranks of the todo tokens, ascending; rows past an image's count repeat its last one
        # (computed, not written back).
        todo_rank = torch.where(todo, rank, N).sort(dim=1).values[:, :num_todo]
        last = torch.where(todo_rank < N, todo_rank, -1).amax(1, keepdim=True).clamp(min=0)
        todo_rank = torch.where(todo_rank < N, todo_rank, last)
        tokens = torch.gather(order, 1, todo_rank)  # (B, U)
        x_sorted = _gather_tokens(x, order)
        sq_sorted = torch.gather(sq, 1, order)
        x_todo = _gather_tokens(x, tokens)
        result = x.new_empty(B, num_todo)
        block = BlockBuffer.kept(x.device, x.dtype, B * self.rows * N)
        for r0 in range(0, num_todo, self.rows):
            r1 = min(num_todo, r0 + self.rows)
            cols = max(1, int(todo_rank[:, r1 - 1].max()))
            result[:, r0:r1] = _min_denser(x_todo[:, r0:r1], todo_rank[:, r0:r1],
                                           x_sorted[:, :cols], sq_sorted[:, :cols],
                                           torch.arange(cols, device=x.device).unsqueeze(0), block)
        result = result.add_(torch.gather(sq, 1, tokens)).clamp_(min=0)
        write_back(out, tokens, count, result)

    def nearest_centre(self, centres: Tensor) -> Tensor:
        """Index in [0, M) of the nearest centre of every token (ties: the lowest index); a
        centre is its own nearest, even where another centre has the same features.

        Args:
            centres (Tensor): Long (B, M), token indices of the centres.
        """
        B, M = centres.shape
        cluster_ids = _arange_like(centres)
        if self.static or self.nbr_idx is None:
            idx = nearest_centre(self.x,
                                 _gather_tokens(self.x, centres, static=self.static),
                                 self.max_block_bytes,
                                 self.static,
                                 sq_x=self.sq,
                                 sq_c=torch.gather(self.sq, 1, centres))
        else:
            idx = self._nearest_listed_centre(centres, cluster_ids)
        return idx.scatter_(1, centres, cluster_ids)

    def _nearest_listed_centre(self, centres: Tensor, cluster_ids: Tensor) -> Tensor:
        """:meth:`nearest_centre` from the neighbour lists where they settle it.

        If a token's list holds a centre, its nearest centre is the first listed one; among
        listed centres at that distance the lowest id wins. If the list ends at that distance
        an unlisted centre could tie, so the token is searched exhaustively, as are the tokens
        with no listed centre (with centres a quarter of the tokens, few of them).
        """
        x, nbr_d2, nbr_idx = self.x, self.nbr_d2, self.nbr_idx
        B, N, _ = x.shape
        M = centres.shape[1]
        centre_id = torch.full((B, N), M, dtype=torch.long,
                               device=x.device).scatter_(1, centres, cluster_ids)
        listed = torch.gather(centre_id, 1, nbr_idx.reshape(B, -1)).reshape(nbr_idx.shape)
        is_centre = listed < M
        first = is_centre.to(torch.uint8).argmax(-1, keepdim=True)
        nearest_d2 = torch.gather(nbr_d2, 2, first)
        idx = torch.where(is_centre & (nbr_d2 == nearest_d2), listed, M).amin(-1)
        todo = (idx == M) | (nbr_d2[..., -1] == nearest_d2.squeeze(-1))
        todo &= self.valid
        if nbr_idx.shape[-1] < N and bool(todo.any()):
            count = todo.sum(1, keepdim=True)
            # The todo tokens of every image first, in index order.
            tokens = torch.sort(todo.to(torch.uint8), dim=1, descending=True,
                                stable=True).indices[:, :int(count.max())]
            write_back(
                idx, tokens, count,
                nearest_centre(_gather_tokens(x, tokens), _gather_tokens(x, centres),
                               self.max_block_bytes))
        # Padding (never searched) joins cluster 0; the caller drops it.
        return idx.masked_fill_(idx == M, 0)


def _min_denser(a: Tensor, rank_a: Tensor, b: Tensor, sq_b: Tensor, rank_b: Tensor,
                block: BlockBuffer) -> Tensor:
    """Eq. 2 on one block: min over the denser tokens b (rank_b < rank_a) of the partial
    squared distance ``|b|^2 - 2 a.b`` (inf where none is denser), shape (B, R)."""
    return _denser_min(partial_sq_dist_block(a, b, sq_b, block), rank_a, rank_b)


def _denser_min(d2: Tensor, rank_a: Tensor, rank_b: Tensor) -> Tensor:
    """Min over the columns of ``d2`` (B, R, M) whose rank is lower than the row's (inf where
    none is); overwrites ``d2``."""
    not_denser = rank_b.unsqueeze(1) >= rank_a.unsqueeze(-1)  # (B, R, M)
    return d2.masked_fill_(not_denser, float('inf')).amin(dim=-1)


def _arange_like(index: Tensor) -> Tensor:
    """0..n-1 along the last dim of a (B, n) tensor, contiguous (scatter needs it)."""
    return ranks(*index.shape, device=index.device)


def _gather_tokens(x: Tensor, index: Tensor, static: bool = False) -> Tensor:
    """Features (B, M, C) of the tokens ``index`` (B, M): whole rows of the flattened batch,
    several times faster than an element-wise ``gather`` on CPU; ``static``: the one
    ``gather`` (one kernel where ops are launches)."""
    if static:
        return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    B, N, C = x.shape
    flat = (index + batch_offsets(B, N, device=index.device)).flatten()
    return x.reshape(B * N, C).index_select(0, flat).view(B, -1, C)


def write_back(dst: Tensor, tokens: Tensor, count: Tensor, values: Tensor) -> None:
    """``dst[b, tokens[b, u]] = values[b, u]`` for the first ``count[b]`` columns of every
    image (the others pad the per-image lists of tokens to one length)."""
    B, U = tokens.shape
    keep = torch.arange(U, device=tokens.device) < count
    batch = torch.arange(B, device=tokens.device).unsqueeze(1).expand(B, U)
    dst[batch[keep], tokens[keep]] = values[keep]
