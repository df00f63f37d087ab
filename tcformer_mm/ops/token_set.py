"""TokenSet: the dynamic vision tokens of TCFormer as an explicit, immutable type.

The released code passed a dict around and mutated it in place; here every stage produces a new
``TokenSet``. Besides the features it carries what the token <-> map transforms need: the map
size the token convolutions work on, the stage-1 grid, and for every initial grid cell the token
it belongs to (``idx_token``) and its weight inside that token (``agg_weight``, eq. 3 weights).
"""
import dataclasses
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from .shape_constants import shape_constant


def _as_size(value, name: str) -> Tuple[int, int]:
    try:
        size = tuple(int(v) for v in value)
    except TypeError:
        raise ValueError(f'TokenSet.{name} must be a pair (H, W), got {value!r}') from None
    if len(size) != 2 or size[0] <= 0 or size[1] <= 0:
        raise ValueError(f'TokenSet.{name} must be a pair of positive ints (H, W), got {value!r}')
    return size


def grid_to_map_index(init_grid_size: Tuple[int, int],
                      map_size: Tuple[int, int],
                      device=None) -> Tensor:
    """For every initial grid cell, the flat index of the map pixel that contains it.

    Nearest (floor) mapping: cell (r, c) lies in pixel (floor(r * H / H0), floor(c * W / W0)).
    Integer arithmetic, so no float rounding at exact multiples.

    Args:
        init_grid_size (tuple[int, int]): (H0, W0).
        map_size (tuple[int, int]): (H, W).
        device: Device of the result.

    Returns:
        Tensor: Long, shape (H0 * W0,), values in [0, H * W); made once per sizes and device
        (``shape_constants``): do not modify it in place.
    """
    return _grid_to_map_index(tuple(init_grid_size), tuple(map_size), device=device)


@shape_constant
def _grid_to_map_index(init_grid_size: Tuple[int, int], map_size: Tuple[int, int], *,
                       device: torch.device) -> Tensor:
    H0, W0 = init_grid_size
    H, W = map_size
    if (H0, W0) == (H, W):
        return torch.arange(H * W, device=device)
    rows = torch.arange(0, H0 * H, H, device=device) // H0
    cols = torch.arange(0, W0 * W, W, device=device) // W0
    return (rows.unsqueeze(1) * W + cols.unsqueeze(0)).reshape(-1)


@dataclass(frozen=True)
class TokenSet:
    """A set of (dynamic) vision tokens.

    Args:
        x (Tensor): Token features, shape (B, N, C).
        map_size (tuple[int, int]): (H, W) of the feature map this stage's token convolutions
            work on.
        init_grid_size (tuple[int, int]): (H0, W0) of the stage-1 grid; N0 = H0 * W0.
        idx_token (Tensor): Long, shape (B, N0). For every initial grid cell (raster order), the
            index in [0, N) of the token it belongs to.
        agg_weight (Tensor): Float, shape (B, N0, 1). The cell's weight inside its token
            (eq. 3 weights composed over the merges).
        score (Tensor, optional): Importance score predicted by the CTM for these tokens, shape
            (B, N, 1) (eq. 4). None for grid tokens.
        parts (int, optional): The tokens are ordered part-major in this many equal spatial
            parts (the s x s windows of the local CTM, ``clustering/partition.py``): part p
            holds the tokens [p * N / parts, (p + 1) * N / parts). Set by the CTM, whose
            clusterings leave the tokens in that order; it lets the next CTM size its parts
            from the shapes instead of reading them off the data. None when not known.
        pairs (TokenMapPairs, optional): The (pixel, token) pairs of these tokens on their map
            (``token_map_pairs``), where already made: ``token2map`` and ``map2token`` use
            them. They depend on the token distribution only: :meth:`replace` keeps them when
            only the features change and drops them otherwise.
    """

    x: Tensor
    map_size: Tuple[int, int]
    init_grid_size: Tuple[int, int]
    idx_token: Tensor
    agg_weight: Tensor
    score: Optional[Tensor] = None
    parts: Optional[int] = None
    pairs: Optional[Any] = None

    def __post_init__(self):
        # Only shape bookkeeping here: it runs in every block, so it must stay O(1).
        object.__setattr__(self, 'map_size', _as_size(self.map_size, 'map_size'))
        object.__setattr__(self, 'init_grid_size', _as_size(self.init_grid_size, 'init_grid_size'))
        if self.x.dim() != 3:
            raise ValueError(f'TokenSet.x must have shape (B, N, C), got {tuple(self.x.shape)}')
        B, N, _ = self.x.shape
        N0 = self.init_grid_size[0] * self.init_grid_size[1]
        if tuple(self.idx_token.shape) != (B, N0):
            raise ValueError(f'TokenSet.idx_token must have shape (B, N0) = {(B, N0)}, '
                             f'got {tuple(self.idx_token.shape)}')
        if self.idx_token.dtype != torch.long:
            raise ValueError(f'TokenSet.idx_token must be torch.long, got {self.idx_token.dtype}')
        if tuple(self.agg_weight.shape) != (B, N0, 1):
            raise ValueError(f'TokenSet.agg_weight must have shape (B, N0, 1) = {(B, N0, 1)}, '
                             f'got {tuple(self.agg_weight.shape)}')
        if self.score is not None and tuple(self.score.shape) != (B, N, 1):
            raise ValueError(f'TokenSet.score must have shape (B, N, 1) = {(B, N, 1)}, '
                             f'got {tuple(self.score.shape)}')
        if self.parts is not None and (isinstance(self.parts, bool)
                                       or not isinstance(self.parts, int) or self.parts < 1
                                       or N % self.parts):
            raise ValueError(f'TokenSet.parts must be None or a positive int dividing the '
                             f'number of tokens N = {N}, got {self.parts!r}')

    @classmethod
    def from_grid(cls,
                  x: Tensor,
                  map_size: Tuple[int, int],
                  init_grid_size: Optional[Tuple[int, int]] = None) -> 'TokenSet':
        """Grid tokens: every token is one pixel of a (H, W) map.

        Args:
            x (Tensor): Token features in raster order, shape (B, H*W, C).
            map_size (tuple[int, int]): (H, W).
            init_grid_size (tuple[int, int], optional): (H0, W0) of the stage-1 grid, when
                these grid tokens are coarser than it (a backbone without CTM, whose later
                stages down-sample the grid by strided convolutions). Defaults to
                ``map_size``: stage-1 tokens.

        Returns:
            TokenSet: every initial grid cell belongs to the pixel containing it
            (:func:`grid_to_map_index`, so ``token2map`` gives the map back exactly), with
            ``agg_weight = 1``.
        """
        H, W = _as_size(map_size, 'map_size')
        H0, W0 = (H, W) if init_grid_size is None else _as_size(init_grid_size, 'init_grid_size')
        if x.dim() != 3 or x.shape[1] != H * W:
            raise ValueError(f'TokenSet.from_grid: x must have shape (B, H*W, C) with '
                             f'H*W = {H * W}, got {tuple(x.shape)}')
        if H > H0 or W > W0:
            raise ValueError(f'TokenSet.from_grid: the map ({H}, {W}) cannot be finer than the '
                             f'initial grid ({H0}, {W0})')
        B = x.shape[0]
        idx_token = grid_to_map_index((H0, W0), (H, W), x.device)
        idx_token = idx_token.unsqueeze(0).repeat(B, 1)
        weight_dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        agg_weight = torch.ones(B, H0 * W0, 1, device=x.device, dtype=weight_dtype)
        return cls(x=x,
                   map_size=(H, W),
                   init_grid_size=(H0, W0),
                   idx_token=idx_token,
                   agg_weight=agg_weight)

    def replace(self, **changes) -> 'TokenSet':
        """Return a copy with the given fields replaced (``dataclasses.replace``); ``pairs``
        are dropped where the distribution changes (``map_size``, ``init_grid_size``,
        ``idx_token``) and not given."""
        if 'pairs' not in changes and changes.keys() & {'map_size', 'init_grid_size', 'idx_token'}:
            changes['pairs'] = None
        return dataclasses.replace(self, **changes)

    @property
    def shape(self) -> torch.Size:
        """(B, N, C) of ``x``: heads that read the batch size from their first input (mmdet's
        ``Mask2FormerHead``: ``x[0].shape[0]``) take token sets."""
        return self.x.shape

    @property
    def num_tokens(self) -> int:
        """N, the number of tokens per image."""
        return self.x.shape[1]

    @property
    def is_grid(self) -> bool:
        """True for the untouched stage-1 grid (N == N0 == H*W and map_size == init grid).

        Decided on shapes only, as the released code does: a merge that keeps every token
        (num_clusters == N0) on the initial map size would also pass this test.
        """
        H, W = self.map_size
        N0 = self.init_grid_size[0] * self.init_grid_size[1]
        return self.x.shape[1] == N0 == H * W and self.map_size == self.init_grid_size


@dataclass(frozen=True)
class Clusters:
    """The outcome of a clustering: which cluster every token joins.

    Attributes:
        idx (Tensor): Long, shape (B, N), the cluster of every token in [0, num_clusters).
        num_clusters (int): Number of clusters, the same for every image.
        parts (int, optional): The ids are part-major in this many equal spatial parts (part p
            owns the ids [p * num_clusters / parts, (p + 1) * num_clusters / parts)), as
            every clustering method leaves them; ``merge_tokens`` passes it on to the merged
            tokens. None when not known.
    """

    idx: Tensor
    num_clusters: int
    parts: Optional[int] = None
