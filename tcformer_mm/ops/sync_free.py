"""Which formulation the token ops take: data-dependent shapes or static shapes.

The clustering's search has two formulations with the same results. The *data-dependent* one
searches exhaustively only the few tokens whose neighbour lists do not settle them; how many
depends on the data, read back to the host. That is the fastest on CPU, where reading a value
costs nothing. The *static* one (sync-free) searches every token; every size follows from the
input's shape. On an accelerator reading a value makes the host wait for the device queue to
drain, and a graph (CUDA graphs, ``torch.compile(fullgraph=True)``, a traced ONNX graph) cannot
have data-dependent sizes at all, so there the static formulation runs. The transforms between
tokens and maps have one formulation, with static sizes, on every device (``pair_sums.py``).

The environment variable ``TCFORMER_SYNC_FREE`` overrides the choice by device: ``1`` forces
the static formulation everywhere (this is how CPU-only tests cover it), ``0`` forces the
data-dependent one on accelerators too (for comparisons). Compiling and tracing always take the
static formulation.
"""
import contextlib
import os
from typing import Iterator, Optional

import torch

#: Environment variable that overrides the choice of formulation (``1``: static, ``0``:
#: data-dependent where possible).
ENV_VAR = 'TCFORMER_SYNC_FREE'


def _is_graph_capture() -> bool:
    """True while ``torch.compile`` or ``torch.jit.trace`` (ONNX export) records the ops."""
    return torch.compiler.is_compiling() or torch.jit.is_tracing()


def sync_free(device: torch.device) -> bool:
    """Whether the token ops on ``device`` take the static formulation (no host sync).

    Args:
        device (torch.device): Device of the tokens.

    Returns:
        bool: True under ``torch.compile`` or tracing, else as ``TCFORMER_SYNC_FREE`` says
        (``1`` / ``0``), else True on every device but the CPU.

    Raises:
        ValueError: If ``TCFORMER_SYNC_FREE`` is set to anything but 0 or 1.
    """
    if _is_graph_capture():
        return True
    forced = os.environ.get(ENV_VAR, '')
    if forced:
        if forced not in ('0', '1'):
            raise ValueError(f'environment variable {ENV_VAR} must be 0 or 1, got {forced!r}')
        return forced == '1'
    return torch.device(device).type != 'cpu'


def reuse_buffers() -> bool:
    """Whether block loops may write into reused memory (``out=``): not inside a graph capture,
    whose ops allocate their outputs."""
    return not _is_graph_capture()


@contextlib.contextmanager
def formulation(static: Optional[bool]) -> Iterator[None]:
    """Force the static (True) or data-dependent (False) formulation inside the block (None:
    leave the choice as it is), through :data:`ENV_VAR`, restored on exit. :func:`sync_free`
    reads the variable at every call, so this holds for whatever runs inside."""
    before = os.environ.get(ENV_VAR)
    if static is not None:
        os.environ[ENV_VAR] = '1' if static else '0'
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before
