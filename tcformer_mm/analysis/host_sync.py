"""Count the operations of a forward pass that make the host wait for the device.

On CUDA, reading a value (``.item()``, ``bool(t)``), ops whose output size depends on the data
(``nonzero``, boolean-mask indexing, ``unique``, ``masked_select``, ``bincount`` without
``minlength`` covering the values, ``repeat_interleave`` without ``output_size``) drain the
device queue: the host cannot launch more work until the device has caught up, and the forward
cannot be captured as one graph. Their ATen calls are the same on CPU, so :class:`HostSyncCounter`
counts them on any device by watching the dispatcher, and names where in the Python code each
one was issued.
"""
import collections
import traceback
from typing import Dict, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

#: Ops that read device memory on the host (or size their output from it) on CUDA.
SYNC_OPS = frozenset({
    aten._local_scalar_dense.default,  # .item(), bool(t), int(t), float(t)
    aten.is_nonzero.default,
    aten.nonzero.default,
    aten.nonzero_static.default,
    aten.masked_select.default,
    aten._unique2.default,
    aten.unique_dim.default,
    aten.unique_consecutive.default,
    aten.bincount.default,
    aten.equal.default,
    aten.repeat_interleave.Tensor,
})


def _is_mask_index(func, args) -> bool:
    """``t[mask]`` and ``t[mask] = v``: indexing with a bool / uint8 tensor (a ``nonzero``)."""
    if func not in (aten.index.Tensor, aten.index_put.default, aten.index_put_.default):
        return False
    indices = args[1] if len(args) > 1 else ()
    return any(
        isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in indices)


def _call_site(package: str) -> str:
    """``file:line`` of the innermost frame inside ``package`` (the op's origin)."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        if f'/{package}/' in frame.filename:
            return f'{frame.filename.split(f"/{package}/", 1)[1]}:{frame.lineno}'
    return '<outside>'


class HostSyncCounter(TorchDispatchMode):
    """Dispatch mode that records every host-synchronising op.

    Attributes:
        counts (Counter): ``(op name, call site) -> count``; the call site is
            ``path:line`` inside ``package``.

    Args:
        package (str): Package whose frames name the call sites. Defaults to
            ``'tcformer_mm'``.

    Example:
        >>> with HostSyncCounter() as syncs:
        ...     model(images)
        >>> syncs.total, syncs.by_op()
    """

    def __init__(self, package: str = 'tcformer_mm'):
        super().__init__()
        self.package = package
        self.counts: Dict[Tuple[str, str], int] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in SYNC_OPS or _is_mask_index(func, args):
            name = 'index (bool mask)' if func not in SYNC_OPS else str(func.overloadpacket)
            self.counts[(name, _call_site(self.package))] += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        """Number of host-synchronising ops seen."""
        return sum(self.counts.values())

    def by_op(self) -> Dict[str, int]:
        """Counts per op name, largest first."""
        ops = collections.Counter()
        for (name, _), count in self.counts.items():
            ops[name] += count
        return dict(ops.most_common())
