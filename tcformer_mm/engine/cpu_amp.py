"""Mixed-precision training on CPU: bf16 autocast in the optimizer wrapper.

mmengine's ``AmpOptimWrapper`` refuses to start without a GPU (it asserts CUDA, NPU, MLU or
MUSA). ``tools/train.py --amp`` on a machine without CUDA uses this wrapper instead: the
training forward runs under ``torch.autocast('cpu', dtype=torch.bfloat16)``. bf16 has fp32's
exponent range, so no loss scaling is needed.
"""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from tcformer_mm.registry import register_module


@register_module(registry='OPTIM_WRAPPERS')
class CPUAmpOptimWrapper(OptimWrapper):
    """:class:`OptimWrapper` whose training step runs under CPU bf16 autocast.

    Args:
        dtype (str | torch.dtype): Only ``'bfloat16'``: CPU autocast has no fp16 kernels for
            most ops. Defaults to ``'bfloat16'``.
        **kwargs: Passed to :class:`OptimWrapper` (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(f'CPUAmpOptimWrapper: dtype must be bfloat16 (CPU autocast), got '
                             f'{dtype!r}')
        super().__init__(**kwargs)

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16):
            yield
