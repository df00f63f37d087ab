"""Latency and peak memory of a backbone, interleaved with a reference model in one process.

Examples::

    python tools/analysis_tools/benchmark.py v2-small --shape 224 224
    python tools/analysis_tools/benchmark.py v1 --shape 512 512 --backward
    python tools/analysis_tools/benchmark.py path/to/config.py --reference pvtv2-b2

A model is given as a TCFormer arch name (``v1-light`` ... ``v2-base``), ``pvtv2-b0`` ...
``pvtv2-b2`` (mmdet's ``PyramidVisionTransformerV2``) or a config file, whose
``model.backbone`` is built in the config's ``default_scope``. An arch name may carry a neck
after a ``+`` (4 levels, 256 channels): ``fpn`` (mmdet's FPN), ``mta-sr``, ``mta-pool``,
``mta-cr`` (our MTA with that key/value reduction, MLP ratio 1), e.g.
``benchmark.py v2-small+mta-cr --reference pvtv2-b2+fpn --shape 512 512``.

Latency: both models are built in this process and timed alternately (warm-up rounds, then
timed rounds, one call of each model per round), so drifts of the machine (clock, other
load) hit both alike; the medians and their ratio are printed. Batch 1, fp32, ``--threads``
intra-op threads (default 2).

``--steady-malloc`` fixes glibc's mmap and trim thresholds (``mallopt``) before the models
are built. By default glibc adapts them as tensors are freed and hands freed memory back to the
system, so a forward pass may fault tens of thousands of fresh pages in, and how many depends on
the allocation history of the process, i.e. on the model timed beside it: at 224x224 on a
2-core CI machine, PVTv2-B2's median was 146-159 ms beside ``v2-small`` and 95-102 ms beside
``v1`` by default, 76-81 ms in three of four runs with this option. With it no freed memory
leaves the process and neither model pays the faults; quote both figures.

Peak memory: measured per model in a fresh subprocess (one warm-up call, then one measured
call) as ``ru_maxrss`` after the call minus the resident set size just before it, i.e. the
extra memory the call's peak needed on top of the built model (weights, allocator caches of
the warm-up and the interpreter are in the baseline). A fresh process per model keeps one
model's peak from hiding the other's: ``ru_maxrss`` only ever grows.
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

import torch

# Make `tcformer_mm` importable when the script runs from a source checkout.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))

PVTV2 = {
    'pvtv2-b0': dict(embed_dims=32, num_layers=[2, 2, 2, 2]),
    'pvtv2-b1': dict(embed_dims=64, num_layers=[2, 2, 2, 2]),
    'pvtv2-b2': dict(embed_dims=64, num_layers=[3, 4, 6, 3]),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', help='TCFormer arch, pvtv2-b0/b1/b2, or a config file')
    parser.add_argument('--reference', default='pvtv2-b2', help='reference model (same forms)')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds')
    parser.add_argument('--repeats', type=int, default=10, help='timed rounds')
    parser.add_argument('--backward', action='store_true', help='time forward + backward')
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    parser.add_argument('--no-memory', action='store_true', help='skip the memory probes')
    parser.add_argument('--steady-malloc',
                        action='store_true',
                        help="fix glibc's mmap / trim thresholds: no page faults from memory "
                        'handed back to the system (see the module docstring)')
    parser.add_argument('--memory-probe', action='store_true', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


NECKS = ('fpn', 'mta-sr', 'mta-pool', 'mta-cr')

#: glibc's ``mallopt`` parameters and the largest mmap threshold it accepts (64-bit).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MAX_MMAP_THRESHOLD = 32 * 2**20


def steady_malloc() -> None:
    """Keep freed memory in the process: allocations below 32 MiB come from the heap, which is
    never trimmed. Fixed thresholds also stop glibc's adaptive ones."""
    try:
        mallopt = ctypes.CDLL('libc.so.6').mallopt
    except (OSError, AttributeError):
        raise SystemExit('--steady-malloc needs glibc (libc.so.6 with mallopt); this system '
                         'has none') from None
    if not (mallopt(M_MMAP_THRESHOLD, MAX_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, 2**31 - 1)):
        raise SystemExit('--steady-malloc: glibc refused the mallopt settings')


def build_neck(name: str, in_channels) -> torch.nn.Module:
    """A 4-level, 256-channel neck by name (see the module docstring)."""
    if name not in NECKS:
        raise ValueError(f'unknown neck {name!r}; choose from {NECKS}')
    if name == 'fpn':
        from mmdet.models.necks import FPN
        return FPN(list(in_channels), 256, 4)
    from tcformer_mm.models import MTA
    return MTA(list(in_channels), 256, 4, mlp_ratios=1, kv_reduction=name[len('mta-'):])


def build_model(spec: str) -> torch.nn.Module:
    """Build a model from its spec (see the module docstring)."""
    base, _, neck = spec.partition('+')
    if neck:
        backbone = build_model(base)
        if hasattr(backbone, 'output_format'):
            backbone.output_format = 'maps' if neck == 'fpn' else 'tokens'
        in_channels = getattr(backbone, 'embed_dims', None)
        if not isinstance(in_channels, (list, tuple)):  # PVTv2: 64 doubling to 8x, as B0-B2
            in_channels = [backbone.embed_dims * r for r in (1, 2, 5, 8)]
        model = torch.nn.Sequential(backbone, build_neck(neck, in_channels))
        model[1].init_weights()
        return model.eval()
    if spec in PVTV2:
        from mmdet.models.backbones import PyramidVisionTransformerV2
        model = PyramidVisionTransformerV2(**PVTV2[spec])
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
        model = TCFormer(arch=spec, output_format='tokens')
    model.init_weights()
    return model.eval()


def _loss(outputs) -> torch.Tensor:
    tensors = [getattr(o, 'x', o) for o in outputs]
    return sum(t.float().mean() for t in tensors)


def run_once(model: torch.nn.Module, inputs: torch.Tensor, backward: bool) -> float:
    """Run one call (forward, or forward + backward) and return its seconds."""
    start = time.perf_counter()
    if backward:
        _loss(model(inputs)).backward()
    else:
        with torch.no_grad():
            model(inputs)
    elapsed = time.perf_counter() - start
    if backward:
        model.zero_grad(set_to_none=True)
    return elapsed


def memory_probe(args) -> None:
    """Subprocess entry: print the peak extra memory of one call as JSON."""
    from tcformer_mm.analysis.memory import peak_rss_kib, rss_kib
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.model)
    inputs = torch.randn(1, 3, *args.shape)
    run_once(model, inputs, args.backward)
    before = rss_kib()
    run_once(model, inputs, args.backward)
    peak = peak_rss_kib()
    print(json.dumps(dict(peak_mib=peak / 1024, delta_mib=max(peak - before, 0) / 1024)))


def measure_memory(spec: str, args) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__), spec, '--memory-probe', '--shape', *map(str, args.shape),
        '--threads',
        str(args.threads)
    ] + (['--backward'] if args.backward else [])
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'memory probe of {spec} failed:\n{result.stderr[-2000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    if args.memory_probe:
        memory_probe(args)
        return
    if args.steady_malloc:
        steady_malloc()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    specs = [args.model, args.reference]
    models = []
    for spec in specs:
        try:
            models.append(build_model(spec))
        except (ValueError, KeyError, FileNotFoundError) as error:
            raise SystemExit(f'benchmark.py: cannot build {spec!r}: {error}') from None
    inputs = torch.randn(1, 3, *args.shape)
    times = [[], []]
    for round_idx in range(args.warmup + args.repeats):
        for i, model in enumerate(models):
            elapsed = run_once(model, inputs, args.backward)
            if round_idx >= args.warmup:
                times[i].append(elapsed)
    medians = [statistics.median(t) * 1000 for t in times]
    memory = [None, None] if args.no_memory else [measure_memory(s, args) for s in specs]

    mode = 'forward+backward' if args.backward else 'forward'
    print(f'{mode}, input 1x3x{args.shape[0]}x{args.shape[1]}, fp32, {args.threads} threads, '
          f'{args.warmup} warm-up + {args.repeats} timed rounds (interleaved)' +
          (', steady malloc' if args.steady_malloc else ''))
    print(f'{"model":<24}{"params (M)":>12}{"median (ms)":>14}{"peak extra (MiB)":>18}')
    for spec, model, median, mem in zip(specs, models, medians, memory):
        params = sum(p.numel() for p in model.parameters()) / 1e6
        mem_str = '-' if mem is None else f'{mem["delta_mib"]:.0f}'
        print(f'{spec:<24}{params:>12.2f}{median:>14.1f}{mem_str:>18}')
    print(f'latency ratio {specs[0]} / {specs[1]}: {medians[0] / medians[1]:.2f}x')
    if memory[0] is not None and memory[1]['delta_mib'] > 0:
        print(f'memory ratio {specs[0]} / {specs[1]}: '
              f'{memory[0]["delta_mib"] / memory[1]["delta_mib"]:.2f}x')


if __name__ == '__main__':
    main()
