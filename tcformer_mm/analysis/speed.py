"""Building blocks of the speed tools (``tools/analysis_tools/benchmark.py``, ``gpu_report.py``):
models by name, one timed step (forward, forward + backward, or a training step), interleaved
timing and the device's peak memory.

A model is named by a TCFormer arch (``v1-light`` ... ``v2-base``), ``pvtv2-b0`` ... ``pvtv2-b2``
(mmdet's ``PyramidVisionTransformerV2``, or timm's ``pvt_v2_b*`` features where mmdet is not
installed: the same network) or a config file, whose ``model.backbone`` is built in the config's
``default_scope``. An arch may carry a neck after a ``+`` (4 levels, 256 channels): ``fpn``
(mmdet's FPN), ``mta-sr``, ``mta-pool``, ``mta-cr`` (our MTA with that key/value reduction, MLP
ratio 1), e.g. ``v2-small+mta-cr``.
"""
import argparse
import time
from typing import Callable, List, Optional, Sequence

import torch

from tcformer_mm.ops.sync_free import formulation
from tcformer_mm.utils import stock

#: The PVTv2 variants of :mod:`tcformer_mm.utils.stock` by model name (``pvtv2-b0`` ...).
PVTV2 = {f'pvtv2-{variant}': arch for variant, arch in stock.PVTV2.items()}
NECKS = ('fpn', 'mta-sr', 'mta-pool', 'mta-cr')
#: What a training step runs: ``forward`` (no gradient), ``backward`` (forward + backward) or
#: ``train`` (forward + backward + an AdamW step).
MODES = ('forward', 'backward', 'train')


def build_neck(name: str, in_channels) -> torch.nn.Module:
    """A 4-level, 256-channel neck by name (see the module docstring)."""
    if name not in NECKS:
        raise ValueError(f'unknown neck {name!r}; choose from {NECKS}')
    if name == 'fpn':
        from mmdet.models.necks import FPN
        return FPN(list(in_channels), 256, 4)
    from tcformer_mm.models import MTA
    return MTA(list(in_channels), 256, 4, mlp_ratios=1, kv_reduction=name[len('mta-'):])


class _TimmFeatures(torch.nn.Module):
    """timm's PVTv2 as a backbone: the four stage maps, ``embed_dims`` as mmdet's."""

    def __init__(self, name: str):
        super().__init__()
        import timm
        self.model = timm.create_model(name.replace('pvtv2-', 'pvt_v2_'), features_only=True)
        self.embed_dims = self.model.feature_info.channels()[0]

    def forward(self, x):
        return tuple(self.model(x))

    def init_weights(self):
        pass


def _build_pvtv2(name: str) -> torch.nn.Module:
    try:
        from mmdet.models.backbones import PyramidVisionTransformerV2
    except ImportError:
        return _TimmFeatures(name)
    return PyramidVisionTransformerV2(**PVTV2[name])


def build_model(spec: str) -> torch.nn.Module:
    """Build a model from its name (see the module docstring), in eval mode.

    Raises:
        ValueError: For an unknown name or neck.
    """
    base, _, neck = spec.partition('+')
    if neck:
        backbone = build_model(base)
        if hasattr(backbone, 'output_format'):
            backbone.output_format = 'maps' if neck == 'fpn' else 'tokens'
        in_channels = getattr(backbone, 'embed_dims', None)
        if not isinstance(in_channels, (list, tuple)):  # PVTv2: the first stage's width
            in_channels = [in_channels * r for r in stock.PVTV2_WIDTH_RATIOS]
        model = torch.nn.Sequential(backbone, build_neck(neck, in_channels))
        model[1].init_weights()
        return model.eval()
    if spec in PVTV2:
        model = _build_pvtv2(spec)
    elif spec.endswith('.py'):
        from mmengine.config import Config
        from mmengine.registry import MODELS, init_default_scope

        import tcformer_mm.models  # noqa: F401  (registers our modules)
        cfg = Config.fromfile(spec)
        init_default_scope(cfg.get('default_scope', 'mmdet'))
        backbone = dict(cfg.model.backbone)
        backbone.pop('init_cfg', None)  # time the architecture, do not fetch weights
        model = MODELS.build(backbone)
    else:
        from tcformer_mm.models import TCFormer
        if spec not in TCFormer.arch_zoo:
            raise ValueError(f'unknown model {spec!r}: not a TCFormer arch '
                             f'({", ".join(TCFormer.arch_zoo)}), a PVTv2 '
                             f'({", ".join(PVTV2)}) or a config file')
        model = TCFormer(arch=spec, output_format='tokens')
    model.init_weights()
    return model.eval()


def outputs_loss(outputs) -> torch.Tensor:
    """A scalar that depends on every output (token sets or maps), for backward passes."""
    tensors = [getattr(o, 'x', o) for o in outputs]
    return sum(t.float().mean() for t in tensors)


def device_argument(value: str) -> torch.device:
    """``--device`` of the speed tools (an ``argparse`` type): a device this machine has.

    Raises:
        argparse.ArgumentTypeError: For a malformed name, or CUDA where there is none.
    """
    try:
        device = torch.device(value)
    except RuntimeError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f'{value}: CUDA is not available on this machine')
    return device


def synchronize(device: torch.device) -> None:
    """Wait for the device's queue (a no-op on CPU): timings end when the work does."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def make_step(model: torch.nn.Module,
              images: torch.Tensor,
              mode: str = 'forward',
              amp_dtype: Optional[torch.dtype] = None) -> Callable[[], None]:
    """One step of ``model`` on ``images`` as a function of no arguments.

    Args:
        model (nn.Module): On the device of ``images``; set to train mode for ``backward`` and
            ``train``, eval mode for ``forward``.
        images (Tensor): (B, 3, H, W).
        mode (str): One of :data:`MODES`.
        amp_dtype (torch.dtype, optional): Run the forward under autocast in this dtype
            (fp16 / bf16); None for fp32. No gradient scaler: the steps are timed, not trained.

    Returns:
        Callable: Runs the step (and clears the gradients).
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    model.train(mode != 'forward')
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4) if mode == 'train' else None
    autocast = dict(device_type=images.device.type, dtype=amp_dtype, enabled=amp_dtype is not None)

    def step():
        if mode == 'forward':
            with torch.no_grad(), torch.autocast(**autocast):
                model(images)
            return
        with torch.autocast(**autocast):
            loss = outputs_loss(model(images))
        loss.backward()
        if optimizer is not None:
            optimizer.step()
        model.zero_grad(set_to_none=True)

    return step


def in_formulation(step: Callable[[], None], static: Optional[bool]) -> Callable[[], None]:
    """``step`` run in the static (True) or data-dependent (False) formulation of the token
    ops (``ops/sync_free.py``); None: the device's."""

    def step_in_formulation():
        with formulation(static):
            step()

    return step_in_formulation


def time_interleaved(steps: Sequence[Callable[[], None]],
                     warmup: int,
                     repeats: int,
                     device: torch.device,
                     deadline: Optional[float] = None) -> List[List[float]]:
    """Seconds of every timed call of each step, the steps called alternately (one call of each
    per round, ``warmup`` untimed rounds first), so that drifts of the machine (clocks, other
    load) hit all of them alike. The device is synchronised around every call.

    With a ``deadline`` (a ``time.perf_counter()`` value), no round starts after it but one
    timed round (after one warm-up round, if any), so a slow machine still gets a figure in the
    time it has: the lists may then hold fewer than ``repeats`` times.
    """
    times = [[] for _ in steps]
    rounds = 0
    while rounds < warmup + repeats:
        late = deadline is not None and time.perf_counter() > deadline
        if late and times[0]:
            break
        timed = rounds >= warmup or (late and rounds > 0)
        for i, step in enumerate(steps):
            synchronize(device)
            start = time.perf_counter()
            step()
            synchronize(device)
            if timed:
                times[i].append(time.perf_counter() - start)
        rounds = max(rounds + 1, warmup) if timed else rounds + 1
    return times


def cuda_peak_mib(step: Callable[[], None], device: torch.device) -> float:
    """Peak CUDA memory one call of ``step`` allocates on top of what is allocated before it
    (``torch.cuda.max_memory_allocated``), in MiB. Call the step once before (warm-up)."""
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    step()
    synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - before) / 2**20
