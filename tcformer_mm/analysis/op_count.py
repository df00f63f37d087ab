"""Count the ATen operations a forward pass issues: on a GPU at small batch each one is at least
one kernel launch, so the count bounds what a forward costs before any arithmetic.

:class:`AtenOpCounter` watches the dispatcher (as ``host_sync.HostSyncCounter`` does), so it
counts the same ops on any device. Ops that only describe memory anew launch nothing and are
not counted: views (``view``, ``reshape`` of a contiguous tensor, ``transpose``, ``expand``,
slicing, ...), ``detach``, and dtype arithmetic (``torch.promote_types`` reaches the dispatcher but
touches no tensor).
"""
import collections
import traceback
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

    Args:
        by_site (bool): Also count by call site: the innermost frame of this package outside
            ``tcformer_mm.analysis`` (``file.py:function``), else the innermost frame of any
            other package. Slow (a stack walk per op).

    Attributes:
        counts (Counter): op name -> count.
        sites (Counter): call site -> count (with ``by_site``).

    Example:
        >>> with AtenOpCounter() as ops:
        ...     model(images)
        >>> ops.total, ops.counts.most_common(5)
    """

    def __init__(self, by_site: bool = False):
        super().__init__()
        self.counts: Dict[str, int] = collections.Counter()
        self.sites: Dict[str, int] = collections.Counter()
        self.by_site = by_site

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not func.is_view and func not in FREE_OPS:
            self.counts[str(func.overloadpacket)] += 1
            if self.by_site:
                self.sites[_call_site()] += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        """Number of ops seen."""
        return sum(self.counts.values())


def _call_site() -> str:
    """``file.py:function`` of the innermost tcformer_mm frame outside ``analysis`` (else of
    the innermost frame outside torch and this module)."""
    other = None
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = frame.filename.replace('\\', '/')
        if '/tcformer_mm/' in path and '/tcformer_mm/analysis/' not in path:
            return f'{path.rsplit("/", 1)[-1]}:{frame.name}'
        if other is None and '/torch/' not in path and '/tcformer_mm/analysis/' not in path:
            other = f'{path.rsplit("/", 1)[-1]}:{frame.name}'
    return other or '?'


@torch.no_grad()
def count_forward_ops(model: torch.nn.Module,
                      images: torch.Tensor,
                      static: bool = None,
                      forward: Callable = None,
                      by_site: bool = False) -> AtenOpCounter:
    """The ops of one inference forward of ``model`` on ``images``, after one uncounted
    forward: index tensors that follow from the input size alone are made once per size
    (``ops/shape_constants.py``), so the count is that of every later forward.

    Args:
        model (nn.Module): In eval mode.
        images (Tensor): The batch.
        static (bool, optional): Run the token ops in their static (True) or data-dependent
            (False) formulation (``ops/sync_free.py``); None leaves the device's choice.
        forward (callable, optional): ``forward(model, images)``; defaults to
            ``model(images)``.
        by_site (bool): Also count by call site (:class:`AtenOpCounter`).

    Returns:
        AtenOpCounter: The counts.
    """
    with formulation(static):
        forward(model, images) if forward else model(images)
        with AtenOpCounter(by_site) as ops:
            forward(model, images) if forward else model(images)
    return ops
