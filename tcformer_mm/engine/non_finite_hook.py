"""Stop on NaN or Inf instead of training or scoring it silently.

One NaN weight makes every output NaN (attention mixes all tokens), the losses NaN, and the
optimiser spreads it to every weight: a run would go on to its end with NaN losses and exit 0,
and a test would score garbage (a classifier predicts label 0 with NaN scores). The hook checks
the weights once before training and testing (after ``load_from`` / ``--resume``), the loss after
every training iteration (the value the runner already copied to the host for logging, so no
extra device sync), and the predictions of every test iteration.
"""
from typing import List

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tcformer_mm.registry import register_module


def non_finite_tensors(named_tensors) -> List[str]:
    """Names of the floating-point tensors of ``(name, tensor)`` pairs that hold a NaN or an
    infinity (one device sync for all of them)."""
    named = [(name, t) for name, t in named_tensors if t.is_floating_point() and t.numel()]
    if not named:
        return []
    finite = torch.stack([torch.isfinite(t).all() for _, t in named]).cpu()
    return [name for (name, _), ok in zip(named, finite.tolist()) if not ok]


def check_finite_weights(model: torch.nn.Module, source: str) -> None:
    """Raise a ValueError naming the parameters and buffers of ``model`` that are not finite.

    Args:
        model (nn.Module): The model.
        source (str): Where the weights come from (a checkpoint path), for the message.
    """
    bad = non_finite_tensors(model.state_dict().items())
    if bad:
        shown = ', '.join(bad[:5]) + (f' and {len(bad) - 5} more' if len(bad) > 5 else '')
        raise ValueError(f'{source}: {len(bad)} weight tensors hold NaN or Inf ({shown}); the '
                         'model would only produce NaN')


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
    """Refuse non-finite weights, stop training at a non-finite loss, and collect the test
    samples whose predictions are not finite.

    Attributes:
        bad (list[str]): Image paths (or ids) of the test samples with non-finite predictions.
        total (int): Test samples seen.
    """

    # After RuntimeInfoHook (VERY_HIGH), which logs the losses; before CheckpointHook
    # (VERY_LOW), so that no checkpoint of NaN weights is written.
    priority = 'HIGH'

    def __init__(self):
        self.bad: List[str] = []
        self.total = 0

    @staticmethod
    def _check_weights(runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_finite_weights(model, runner._load_from or 'the initialised model')

    def before_train(self, runner) -> None:
        self._check_weights(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        losses = {
            key: runner.message_hub.get_scalar(f'train/{key}').current()
            for key in (outputs or {}) if f'train/{key}' in runner.message_hub.log_scalars
        }
        if losses and not np.isfinite(losses.get('loss', sum(losses.values()))):
            terms = ', '.join(f'{k}={v:.4g}' for k, v in losses.items())
            raise ValueError(f'training stopped at iteration {runner.iter + 1} (epoch '
                             f'{runner.epoch + 1}): the loss is not finite ({terms}). Lower the '
                             'learning rate, clip gradients (optim_wrapper.clip_grad) or check '
                             'the data and the loaded weights.')

    def before_test(self, runner) -> None:
        self._check_weights(runner)
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
