"""Index tensors that follow from shapes alone, made once per shape and device.

The token bookkeeping of a forward needs a few dozen index tensors that depend on the input
size only: ranges, batch offsets, the pixel of every initial grid cell on every map. On a GPU at
small batch every op is a kernel launch, so eager forwards keep these in a small LRU cache and
make them once per input size. Inside a graph capture (``torch.compile``, a TorchScript trace,
a CUDA graph capture) they are made in place, as ordinary ops: the compiler folds them into
constants, and a trace stays a function of its input.

A cached tensor is shared by every forward of that size: the callers only read it (no
in-place op on the result of a function here).
"""
import functools
from typing import Callable

import torch
from torch import Tensor

#: Entries kept per function (an input size makes a few per function). At 800x1344 and batch 2
#: an entry is at most about 0.5 MB (the grid-to-map index: 67,200 cells), so the cache stays
#: small while multi-scale training cycles through more sizes than it holds.
MAX_ENTRIES = 64


def _capturing() -> bool:
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return True
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()


def shape_constant(make: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Decorator: ``make(*ints_or_tuples, device)`` returns a tensor that depends on its
    arguments alone; the wrapped function caches it per arguments (``device`` a keyword)."""

    @functools.lru_cache(maxsize=MAX_ENTRIES)
    def cached(*args, device: torch.device) -> Tensor:
        # Made outside any inference mode: the tensor may serve a later training step, where
        # inference tensors cannot be saved for backward.
        with torch.inference_mode(False), torch.no_grad():
            return make(*args, device=device)

    @functools.wraps(make)
    def wrapper(*args, device=None) -> Tensor:
        device = torch.device('cpu') if device is None else torch.device(device)
        if _capturing():
            return make(*args, device=device)
        return cached(*args, device=device)

    wrapper.cache_clear = cached.cache_clear
    return wrapper


@shape_constant
def arange(end: int, *, device: torch.device) -> Tensor:
    """``torch.arange(end)``, long."""
    return torch.arange(end, device=device)


@shape_constant
def batch_offsets(B: int, stride: int, *, device: torch.device) -> Tensor:
    """(B, 1) long tensor b * stride: offsets that make per-image indices unique in a batch."""
    return torch.arange(0, B * stride, stride, device=device).unsqueeze(1)


@shape_constant
def ranks(B: int, n: int, *, device: torch.device) -> Tensor:
    """(B, n) long, 0..n-1 in every row, contiguous (a ``scatter`` source)."""
    return torch.arange(n, device=device).expand(B, n).contiguous()
