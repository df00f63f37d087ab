"""Count the ATen operations a forward pass issues: on a GPU at small batch each one is at least
one kernel launch, so the count bounds what a forward costs before any arithmetic.

:class:`AtenOpCounter` watches the dispatcher (as ``host_sync.HostSyncCounter`` does), so it
counts the same ops on any device. Ops that only describe memory anew launch nothing and are
not counted: views (``view``, ``reshape`` of a contiguous tensor, ``transpose``, ``expand``,
slicing, ...), ``detach``, and dtype arithmetic (``torch.promote_types`` reaches the dispatcher but
touches no tensor).
"""
import collections
from typing import Callable, Dict

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from tcformer_mm.ops.sync_free import formulation

aten = torch.ops.aten

#: Counted as free besides the view ops: they alias their input, or compute a dtype.
FREE_OPS = frozenset(
    {aten.detach.default, aten.lift_fresh.default, aten.alias.default, aten.promote_types.default})


class AtenOpCounter(TorchDispatchMode):
    """Dispatch mode that counts every ATen op that may launch a kernel.

    Attributes:
        counts (Counter): op name -> count.

    Example:
        >>> with AtenOpCounter() as ops:
        ...     model(images)
        >>> ops.total, ops.counts.most_common(5)
    """

    def __init__(self):
        super().__init__()
        self.counts: Dict[str, int] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not func.is_view and func not in FREE_OPS:
            self.counts[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        """Number of ops seen."""
        return sum(self.counts.values())


@torch.no_grad()
def count_forward_ops(model: torch.nn.Module,
                      images: torch.Tensor,
                      static: bool = None,
                      forward: Callable = None) -> AtenOpCounter:
    """The ops of one inference forward of ``model`` on ``images``.

    Args:
        model (nn.Module): In eval mode.
        images (Tensor): The batch.
        static (bool, optional): Run the token ops in their static (True) or data-dependent
            (False) formulation (``ops/sync_free.py``); None leaves the device's choice.
        forward (callable, optional): ``forward(model, images)``; defaults to
            ``model(images)``.

    Returns:
        AtenOpCounter: The counts.
    """
    with formulation(static), AtenOpCounter() as ops:
        forward(model, images) if forward else model(images)
    return ops
