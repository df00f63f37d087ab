"""Weighted sums over (target, source) pairs: the one kernel of every token transform.

``token2map``, ``map2token`` and ``token2token`` all move rows through the cells of the initial
grid: a cell links a source row (a token, or the pixel holding the cell) to a target row, and
the target is a weighted sum over its cells. In later stages a pixel covers many cells but few
distinct tokens, so the cells are first coalesced into distinct (target, source) *pairs*
(:func:`coalesce`) and the rows move once per pair.

Coalescing has static sizes: the keys ``target * S + source`` of the L cells are sorted, the
first cell of every run of equal keys opens a pair, and the pairs are written to the front of
arrays of length L; the rest is padding (target T, weight 0). A target's pairs are a contiguous
range (found by ``searchsorted``), so the sums are one ``embedding_bag`` whose last offset is the
number of pairs, a tensor:
the kernel reads the P pairs present and never the padding, and nothing is read back to the
host. The work therefore follows the pairs present, not the cells, on every device and inside
a graph capture (CUDA graphs, ``torch.compile(fullgraph=True)``).

The backward of a sum is the transposed sum: the same pairs grouped by source, with the same
weights. :class:`PairSums` holds both groupings (made once, with the pairs) and its autograd
function runs the transposed ``embedding_bag``, so neither direction scatters rows (no
atomics: both add in a fixed order) and neither sorts indices per call. Traced for ONNX, the
sums are a gather and an ``index_add`` over the padded pairs (``ScatterElements``): the
TorchScript exporter has no ``embedding_bag`` with a tensor-valued last offset.
"""
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .shape_constants import arange


class Bags(NamedTuple):
    """Rows summed into bags: ``out[t] = sum of weight[e] * rows[index[e]]`` over the entries
    e in ``[offsets[t], offsets[t + 1])``.

    Attributes:
        index (Tensor): Long (L,), row of every entry; the entries grouped by bag.
        bag (Tensor): Long (L,), bag of every entry, ascending; T for padding.
        weight (Tensor): (L,), weight of every entry; 0 for padding.
        offsets (Tensor): Long (T + 1,), first entry of every bag; ``offsets[T]`` is the number
            of entries in use (the padding follows).
    """
    index: Tensor
    bag: Tensor
    weight: Tensor
    offsets: Tensor

    @property
    def num_bags(self) -> int:
        """T."""
        return self.offsets.shape[0] - 1

    def __call__(self, rows: Tensor) -> Tensor:
        """Sum ``rows`` (R, C) into (T, C), in the dtype of ``rows``; 0 for an empty bag."""
        weight = self.weight.to(rows.dtype)
        if torch.jit.is_tracing():
            picked = rows.index_select(0, self.index) * weight.unsqueeze(1)
            out = rows.new_zeros(self.num_bags + 1, rows.shape[1])
            return out.index_add_(0, self.bag, picked)[:-1]
        return F.embedding_bag(self.index,
                               rows.contiguous(),
                               self.offsets,
                               mode='sum',
                               per_sample_weights=weight,
                               include_last_offset=True)


class _TransposedBackward(torch.autograd.Function):
    """Bag sums whose gradient is the transposed bag sums (given, not derived per call)."""

    @staticmethod
    def forward(ctx, rows, *bags):
        ctx.save_for_backward(*bags)
        return Bags(*bags[:4])(rows)

    @staticmethod
    def backward(ctx, grad):
        bags = ctx.saved_tensors
        return (_TransposedBackward.apply(grad, *bags[4:], *bags[:4]), ) + (None, ) * len(bags)


class PairSums(NamedTuple):
    """Weighted sums of source rows into targets over pairs: ``out[t] = sum over the pairs
    (t, s) of w_ts * rows[s]``, and its transpose for the gradient.

    Attributes:
        forward (Bags): The pairs grouped by target (T bags of source rows).
        backward (Bags): The same pairs and weights grouped by source (S bags of target rows).
    """
    forward: Bags
    backward: Bags

    def __call__(self, rows: Tensor) -> Tensor:
        """Sum ``rows`` (S, C) into (T, C), in the dtype of ``rows``."""
        if rows.requires_grad and torch.is_grad_enabled() and not torch.jit.is_tracing():
            return _TransposedBackward.apply(rows, *self.forward, *self.backward)
        return self.forward(rows)


class Pairs(NamedTuple):
    """Distinct (target, source) pairs of L cells, padded to length L (see the module
    docstring), grouped by target and by source.

    Attributes:
        by_target (Bags): The pairs grouped by target: ``index`` the source (0 for padding),
            ``bag`` the target (T for padding), ``weight`` the number of cells of the pair, fp32
            (0 for padding).
        by_source (Bags): The same pairs grouped by source (stably): ``index`` the target (T -
            1 for padding), ``bag`` the source (S for padding), ``weight`` the cells.
        order (Tensor): Long (L,), entry e of ``by_source`` is entry ``order[e]`` of
            ``by_target``.
        weight (Tensor, optional): (L,), sum of the cells' weights of every pair, target order;
            0 for padding. None when the cells had no weights.
    """
    by_target: Bags
    by_source: Bags
    order: Tensor
    weight: Optional[Tensor] = None

    @property
    def num_pairs(self) -> Tensor:
        """P, a 0-dim tensor (reading it is a host sync)."""
        return self.by_target.offsets[-1]

    def sums(self, weight: Tensor) -> PairSums:
        """Sums of source rows into targets with the pair weights ``weight`` (L,), target
        order, 0 on padding."""
        return PairSums(self.by_target._replace(weight=weight),
                        self.by_source._replace(weight=weight[self.order]))

    def transposed_sums(self, weight: Tensor) -> PairSums:
        """Sums of target rows into sources with the pair weights ``weight`` (L,), target
        order, 0 on padding."""
        sums = self.sums(weight)
        return PairSums(sums.backward, sums.forward)


def _offsets(bag: Tensor, num_bags: int) -> Tensor:
    """First entry of every bag of ascending ``bag`` ids (``num_bags`` for padding), and the
    number of entries in bags last: (num_bags + 1,). Counted where traced: ONNX has no
    ``searchsorted`` (and the traced sums do not read the offsets)."""
    if torch.jit.is_tracing():
        count = torch.zeros(num_bags + 1, dtype=torch.long,
                            device=bag.device).index_add_(0, bag, torch.ones_like(bag))
        return F.pad(count[:-1].cumsum(0), (1, 0))
    return torch.searchsorted(bag, arange(num_bags + 1, device=bag.device))


def coalesce(target: Tensor,
             source: Tensor,
             num_targets: int,
             num_sources: int,
             weight: Optional[Tensor] = None) -> Pairs:
    """Coalesce cells into their distinct (target, source) pairs, with static sizes.

    Args:
        target (Tensor): Long (L,), target row of every cell, in [0, T).
        source (Tensor): Long (L,), source row of every cell, in [0, S).
        num_targets (int): T.
        num_sources (int): S.
        weight (Tensor, optional): (L,), a weight of every cell, summed per pair.

    Returns:
        Pairs: Padded to L; nothing is read back to the host.
    """
    key, order = torch.sort(torch.add(source, target, alpha=num_sources))
    # The pair of every (sorted) cell: how many runs of equal keys started before it.
    slot = F.pad(key[1:] != key[:-1], (1, 0)).cumsum(0, dtype=torch.long)
    # Padding: key T * S, i.e. target T, source 0.
    pair_key = torch.full_like(key, num_targets * num_sources).scatter_(0, slot, key)
    cells = torch.zeros(key.shape,
                        device=key.device).index_add_(0, slot,
                                                      torch.ones(key.shape, device=key.device))
    pair_weight = None
    if weight is not None:
        pair_weight = weight.new_zeros(key.shape).index_add_(0, slot, weight[order])
    pair_target, pair_source = pair_key // num_sources, pair_key % num_sources
    # Grouped by source, padding last (bag S); its target is any valid row (weight 0).
    source_bag, source_order = torch.sort(pair_source.masked_fill(cells == 0, num_sources),
                                          stable=True)
    source_index = pair_target[source_order].clamp_(max=num_targets - 1)
    return Pairs(
        Bags(pair_source, pair_target, cells, _offsets(pair_target, num_targets)),
        Bags(source_index, source_bag, cells[source_order], _offsets(source_bag, num_sources)),
        source_order, pair_weight)


def normalise(weight: Tensor, group: Tensor, num_groups: int, eps: float) -> Tensor:
    """``weight`` (L,) divided by the sum over its group + ``eps``; ``group`` may hold
    ``num_groups`` (padding, weight 0)."""
    total = weight.new_zeros(num_groups + 1).index_add_(0, group, weight)
    return weight / (total + eps)[group]
