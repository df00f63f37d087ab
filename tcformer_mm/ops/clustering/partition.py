"""Spatial partition of the tokens for the local CTM (TPAMI section 3.2.1).

The initial grid (H0, W0) is split into s x s windows (P = s * s parts; P = 1 is global
clustering). Cell (r, c) lies in window (floor(r * s / H0), floor(c * s / W0)). Floor splitting
makes windows differ by at most one row / column, needs no padding of the map, and nests:
floor(floor(r * 4 / H0) / 2) == floor(r * 2 / H0), so each window of a 4x4 split lies in one
window of the 2x2 split. Because clusters never cross windows, all cells of a merged token lie in
one window of every coarser split, and a token's part can be read off its cells at any stage.
The window of a cell is the pixel of an s x s map that contains it (``grid_to_map_index``).

The tokens are sorted by part (stably, so each part keeps the token order) and every part is
padded to the largest part, so all parts of all images cluster as one batch of B * P sets.

Where the windows tile the tokens evenly the regrouping is a permutation known from the shapes
(:func:`_window_layout`): the tokens are viewed as (B, s, R, s, K), R x K tokens per window,
and the parts are the (s, s) windows, in token order. That holds for global clustering (s = 1),
for grid tokens whose grid the windows divide, and for tokens a clustering left part-major in
windows that nest in these (``TokenSet.parts``, set by ``merge_tokens`` from
``Clusters.parts``): then nothing is sorted or padded. Otherwise the part sizes follow from the
shapes where the layout is known (:func:`_static_layout`), and only other token sets have their
sizes read off the data, which waits for the device.
"""
import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from ..shape_constants import batch_offsets
from ..token_set import TokenSet, grid_to_map_index


def num_windows_per_side(num_parts: int) -> int:
    """s such that s * s == num_parts; ValueError if num_parts is not a perfect square."""
    s = math.isqrt(num_parts) if num_parts > 0 else 0
    if num_parts < 1 or s * s != num_parts:
        raise ValueError(f'num_parts must be a perfect square (1, 4, 16, ...), got {num_parts}')
    return s


def cell_part_index(init_grid_size: Tuple[int, int], num_parts: int, device=None) -> Tensor:
    """The part of every initial grid cell (H0 * W0,): the pixel of the s x s map of windows
    that holds it."""
    s = num_windows_per_side(num_parts)
    return grid_to_map_index(init_grid_size, (s, s), device)


def window_sizes(length: int, num_windows: int) -> List[int]:
    """Rows (or columns) of every window of a floor split of ``length`` into
    ``num_windows``: the r with floor(r * num_windows / length) == i, for every i."""
    sizes = [0] * num_windows
    for r in range(length):
        sizes[r * num_windows // length] += 1
    return sizes


def clusters_per_part(num_tokens: int, num_parts: int, ratio: float, min_part_size: int) -> int:
    """Number of clusters M of every part.

    All parts get the same M so that they batch together and every image ends with P * M
    tokens. For P = 1 this is ceil(N * ratio), the released global CTM's cluster number. For
    P > 1 it is the part's share of the clusters, round(N * ratio / P) (half up), at least 1
    and at most the number of real tokens of the smallest part (a part cannot have more
    clusters than tokens).
    """
    if num_parts == 1:
        return max(1, min(num_tokens, math.ceil(num_tokens * ratio)))
    m = max(1, math.floor(num_tokens * ratio / num_parts + 0.5))
    return min(m, min_part_size)


@dataclass
class Partition:
    """Tokens regrouped by part and padded: the batch the clustering methods work on.

    Attributes:
        x (Tensor): Features, shape (B*P, Np, C); padded slots are 0.
        valid (Tensor): Bool, shape (B*P, Np); False on padding.
        num_parts (int): P.
        num_clusters (int): M, clusters per part.
        padded (bool): Whether some part is smaller than Np (``valid`` has a False).
        windows (tuple[int, int], optional): (R, K) where the parts are a permutation of the
            tokens viewed as (B, s, R, s, K) (module docstring); None for the general layout.
        slots (Tensor, optional): The general layout: long (B, N), flat slot in
            [0, B*P*Np) of every token.
        token_part (Tensor, optional): The general layout: long (B, N), part of every token.
    """

    x: Tensor
    valid: Tensor
    num_parts: int
    num_clusters: int
    padded: bool = True
    windows: Optional[Tuple[int, int]] = None
    slots: Optional[Tensor] = None
    token_part: Optional[Tensor] = None

    @property
    def index(self) -> Tensor:
        """Long (B, N): flat slot in [0, B*P*Np) of every token."""
        if self.windows is None:
            return self.slots
        slots = torch.arange(self.valid.numel(), device=self.x.device).view(self.valid.shape)
        return _from_windows(slots, self.num_parts, self.windows)

    @property
    def part(self) -> Tensor:
        """Long (B, N): part of every token in [0, P)."""
        if self.windows is None:
            return self.token_part
        BP, Np = self.valid.shape
        part = torch.arange(BP, device=self.x.device) % self.num_parts
        return _from_windows(part.unsqueeze(1).expand(BP, Np), self.num_parts, self.windows)

    def gather(self, value: Tensor, fill: float = 0.0) -> Tensor:
        """Regroup a per-token tensor (B, N, ...) into the padded layout (B*P, Np, ...)."""
        if self.windows is not None:
            return _to_windows(value, self.num_parts, self.windows)
        BP, Np = self.valid.shape
        B, N = self.slots.shape
        trailing = value.shape[2:]
        out = value.new_full((BP * Np, ) + trailing, fill)
        out[self.slots.reshape(-1)] = value.reshape((B * N, ) + trailing)
        return out.reshape((BP, Np) + trailing)

    def scatter_back(self, local_cluster: Tensor) -> Tensor:
        """Turn per-part cluster ids (B*P, Np) in [0, M) into ids (B, N) in [0, P*M).

        Part p owns the ids [p*M, (p+1)*M) (part-major order); padding is dropped.
        """
        P, M = self.num_parts, self.num_clusters
        if self.windows is None:
            return local_cluster.reshape(-1)[self.slots] + self.token_part * M
        if P > 1:
            first = batch_offsets(P, M, device=local_cluster.device)  # (P, 1)
            local_cluster = (local_cluster.reshape(-1, P, local_cluster.shape[1]) + first).reshape(
                local_cluster.shape)
        return _from_windows(local_cluster, P, self.windows)


def partition_tokens(tokens: TokenSet, num_parts: int, ratio: float) -> Partition:
    """Split tokens into P spatial parts, padded to a common size.

    Args:
        tokens (TokenSet): Tokens to cluster, x of shape (B, N, C).
        num_parts (int): P in {1, 4, 16, ...}.
        ratio (float): Fraction of tokens kept as clusters.

    Returns:
        Partition: The padded batch and what is needed to map results back.

    Raises:
        ValueError: If the initial grid is too small to give every part a token.
    """
    x = tokens.x
    B, N, C = x.shape
    device = x.device
    P = num_parts
    windows = _window_layout(tokens, P)
    if windows is not None:
        R, K = windows
        return Partition(x=_to_windows(x, P, windows),
                         valid=torch.ones((), dtype=torch.bool, device=device).expand(B * P, R * K),
                         num_parts=P,
                         num_clusters=clusters_per_part(N, P, ratio, R * K),
                         padded=False,
                         windows=windows)

    layout = _static_layout(tokens, P)
    offsets = torch.arange(B, device=device).unsqueeze(1) * P
    if layout is None:
        part = _part_from_cells(tokens, P)
        counts = _count_per_part(part + offsets, B, P)
        min_count, Np = int(counts.min()), int(counts.max())
    else:
        part, min_count, Np = layout
        counts = _count_per_part(part + offsets, B, P)
    if min_count == 0:
        H0, W0 = tokens.init_grid_size
        raise ValueError(f'feature map {H0}x{W0} (initial token grid) is too small for '
                         f'{P} parts: some part has no token')

    # Rank of every token inside its part, keeping the token order (stable sort by part).
    order = torch.sort(part, dim=1, stable=True).indices
    part_sorted = torch.gather(part, 1, order)
    starts = torch.cumsum(counts, dim=1) - counts  # first sorted position of every part
    pos_sorted = torch.arange(N, device=device).unsqueeze(0) - torch.gather(starts, 1, part_sorted)
    pos = torch.empty_like(pos_sorted).scatter_(1, order, pos_sorted)

    index = (part + offsets) * Np + pos
    valid = torch.zeros(B * P * Np, dtype=torch.bool, device=device)
    valid[index.reshape(-1)] = True
    feats = x.new_zeros(B * P * Np, C)
    feats[index.reshape(-1)] = x.reshape(B * N, C)
    return Partition(x=feats.reshape(B * P, Np, C),
                     valid=valid.reshape(B * P, Np),
                     num_parts=P,
                     num_clusters=clusters_per_part(N, P, ratio, min_count),
                     padded=min_count < Np,
                     slots=index,
                     token_part=part)


def _count_per_part(part: Tensor, B: int, P: int) -> Tensor:
    """Tokens of every part, (B, P), from the parts b * P + p of the tokens (B, N): a
    ``bincount`` whose size does not depend on the data."""
    flat = part.reshape(-1)
    return torch.zeros(B * P, dtype=torch.long,
                       device=part.device).index_add_(0, flat, torch.ones_like(flat)).reshape(B, P)


def _part_from_cells(tokens: TokenSet, P: int) -> Tensor:
    """The part of every token (B, N), read off its initial grid cells."""
    B, N = tokens.x.shape[:2]
    # A token takes the part of its cells (they all agree, see the module docstring). A token
    # without cells (an empty k-means cluster of an earlier CTM) has no position; it goes to
    # part 0.
    cell_part = cell_part_index(tokens.init_grid_size, P,
                                tokens.x.device).expand_as(tokens.idx_token)
    # Parts are >= 0, so including the zeros changes nothing; ONNX has no include_self=False.
    return torch.zeros(B, N, dtype=torch.long,
                       device=tokens.x.device).scatter_reduce(1,
                                                              tokens.idx_token,
                                                              cell_part,
                                                              reduce='amax',
                                                              include_self=True)


def _to_windows(value: Tensor, P: int, windows: Tuple[int, int]) -> Tensor:
    """(B, N, ...) -> (B*P, R*K, ...): the tokens viewed as (B, s, R, s, K), window-major."""
    s, (R, K), trailing = math.isqrt(P), windows, value.shape[2:]
    value = value.reshape((-1, s, R, s, K) + trailing).transpose(2, 3)
    return value.reshape((-1, R * K) + trailing)


def _from_windows(value: Tensor, P: int, windows: Tuple[int, int]) -> Tensor:
    """(B*P, R*K, ...) -> (B, N, ...): the inverse of :func:`_to_windows`."""
    s, (R, K), trailing = math.isqrt(P), windows, value.shape[2:]
    value = value.reshape((-1, s, s, R, K) + trailing).transpose(2, 3)
    return value.reshape((-1, s * R * s * K) + trailing)


def _window_layout(tokens: TokenSet, P: int) -> Optional[Tuple[int, int]]:
    """(R, K) where the P parts of ``tokens`` are their (s, s) windows when viewed as (B, s, R,
    s, K) (module docstring); None when they are not.

    - Global clustering: (1, N).
    - Grid tokens whose grid the windows divide: the window's rows and columns.
    - Tokens left part-major in Q = q * q windows, s dividing q: token i lies in window
      (i // (N / Q)) of the q x q split, which is row-major in (s, q / s, s, q / s), so a
      part is q / s rows of windows of q / s * N / Q tokens each.
    """
    N = tokens.num_tokens
    s = num_windows_per_side(P)
    if s == 1:
        return 1, N
    if tokens.is_grid:
        H0, W0 = tokens.init_grid_size
        return (H0 // s, W0 // s) if H0 % s == 0 and W0 % s == 0 else None
    Q = tokens.parts
    if Q is None or math.isqrt(Q)**2 != Q or math.isqrt(Q) % s:
        return None
    factor = math.isqrt(Q) // s
    return factor, factor * (N // Q)


def _static_layout(tokens: TokenSet, P: int) -> Optional[Tuple[Tensor, int, int]]:
    """The part of every token (B, N) and the smallest and largest part size, from the shapes
    alone, for grid tokens the windows do not divide (token i is cell i; the part sizes are
    products of window sizes); None for other tokens (part-major tokens in nested windows take
    :func:`_window_layout`)."""
    if not tokens.is_grid:
        return None
    B, N = tokens.x.shape[:2]
    s = num_windows_per_side(P)
    H0, W0 = tokens.init_grid_size
    rows, cols = window_sizes(H0, s), window_sizes(W0, s)
    part = cell_part_index((H0, W0), P, tokens.x.device).unsqueeze(0).expand(B, N)
    return part, min(rows) * min(cols), max(rows) * max(cols)
