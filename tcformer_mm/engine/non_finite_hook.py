"""Report test images whose predictions are not finite, instead of scoring them silently.

One NaN or Inf pixel makes every stage of that image NaN (attention mixes all tokens); the
metrics then score garbage (a classifier predicts label 0 with NaN scores). The check reads the
predictions after each test iteration, on the host, outside the model's forward.
"""
from typing import List

import numpy as np
import torch
from mmengine.hooks import Hook

from tcformer_mm.registry import register_module


def _non_finite(value) -> bool:
    """Whether a prediction (tensor, array, data element, or a container of them) holds a
    NaN or an infinity."""
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and not bool(torch.isfinite(value).all())
    if isinstance(value, np.ndarray):
        return value.dtype.kind == 'f' and not np.isfinite(value).all()
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    if hasattr(value, 'items') and callable(value.items):  # mmengine's BaseDataElement
        return any(_non_finite(v) for _, v in value.items())
    return False


def _name(sample, index: int) -> str:
    meta = sample.metainfo if hasattr(sample, 'metainfo') else {}
    return str(meta.get('img_path') or meta.get('img_id') or f'sample {index}')


@register_module(registry='HOOKS')
class NonFiniteCheckHook(Hook):
    """Collect the test samples whose predictions are not finite.

    Attributes:
        bad (list[str]): Image paths (or ids) of those samples.
        total (int): Samples seen.
    """

    priority = 'LOW'

    def __init__(self):
        self.bad: List[str] = []
        self.total = 0

    def before_test(self, runner) -> None:
        self.bad, self.total = [], 0

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for sample in outputs or []:
            if _non_finite(sample):
                self.bad.append(_name(sample, self.total))
            self.total += 1

    def after_test_epoch(self, runner, metrics=None) -> None:
        if self.bad:
            runner.logger.error(self.report())

    def report(self) -> str:
        """One line: how many samples, and which (the first few)."""
        shown = ', '.join(
            self.bad[:5]) + (f' and {len(self.bad) - 5} more' if len(self.bad) > 5 else '')
        return (f'{len(self.bad)} of {self.total} test images gave non-finite predictions '
                f'(NaN or Inf; the metrics above include them): {shown}')
