"""Latency, throughput and peak memory of a backbone, interleaved with a reference model in one
process.

Examples::

    python tools/analysis_tools/benchmark.py v2-small --shape 224 224
    python tools/analysis_tools/benchmark.py v1 --shape 512 512 --mode backward
    python tools/analysis_tools/benchmark.py path/to/config.py --reference pvtv2-b2
    python tools/analysis_tools/benchmark.py v2-small --device cuda --batch 64 --amp
    python tools/analysis_tools/benchmark.py v2-small --device cuda --batch 32 --amp --mode train
    python tools/analysis_tools/benchmark.py v2-small --formulation both --compile --no-memory

Models are named as in :mod:`tcformer_mm.analysis.speed`: a TCFormer arch (``v1-light`` ...
``v2-base``), ``pvtv2-b0`` ... ``pvtv2-b2`` (mmdet's ``PyramidVisionTransformerV2``; timm's
where mmdet is not installed) or a config file; an arch may carry a neck after a ``+``
(``fpn``, ``mta-sr``, ``mta-pool``, ``mta-cr``), e.g.
``benchmark.py v2-small+mta-cr --reference pvtv2-b2+fpn --shape 512 512``.

What is timed (``--mode``): ``forward`` (no gradient, eval mode), ``backward`` (forward +
backward, train mode) or ``train`` (forward + backward + an AdamW step). ``--amp`` runs the
forward under autocast (fp16 on CUDA, bf16 on CPU; ``--amp-dtype`` to choose), as
``--amp`` of the launchers does, without a gradient scaler. Throughput is ``--batch`` images
divided by the median time (the papers' Table I protocol: forward, 224x224, a large batch).

Variants of the model, timed in the same rounds: ``--formulation both`` times it in the static
and the data-dependent formulation of the token ops (rows ``MODEL/static``, ``MODEL/data-dep``;
``static`` or ``data-dependent`` forces one, the default is the device's), and ``--compile``
adds both models compiled as one graph (``torch.compile(fullgraph=True, dynamic=False)``,
backend ``--compile-backend``, inductor by default; rows ``MODEL/compiled``): the ratios
printed are every row to the eager reference, static to data-dependent, and compiled to eager
and to the compiled reference. Compiling with inductor takes minutes on a CPU.

Latency: both models are built in this process and timed alternately (warm-up rounds, then
timed rounds, one call of each model per round), so drifts of the machine (clock, other
load) hit both alike; the medians and their ratio are printed. On CUDA the device is
synchronised around every call. CPU runs use ``--threads`` intra-op threads (default 2).

``--steady-malloc`` (CPU) fixes glibc's mmap and trim thresholds (``mallopt``) before the
models are built. By default glibc adapts them as tensors are freed and hands freed memory back
to the system, so a forward pass may fault tens of thousands of fresh pages in, and how many
depends on the allocation history of the process, i.e. on the model timed beside it: at 224x224
on a 2-core CI machine, PVTv2-B2's median was 146-159 ms beside ``v2-small`` and 95-102 ms
beside ``v1`` by default, 76-81 ms in three of four runs with this option. With it no freed
memory leaves the process and neither model pays the faults; quote both figures.

Peak memory. CUDA: the peak that one call allocates on top of what was allocated before it
(``torch.cuda.max_memory_allocated``), after a warm-up call. CPU: measured per model in a fresh
subprocess (one warm-up call, then one measured call) as ``ru_maxrss`` after the call minus the
resident set size just before it, i.e. the extra memory the call's peak needed on top of the
built model (weights, allocator caches of the warm-up and the interpreter are in the baseline).
A fresh process per model keeps one model's peak from hiding the other's: ``ru_maxrss`` only
ever grows.
"""
import argparse
import ctypes
import json
import statistics
from typing import List, NamedTuple, Optional

import torch

from tcformer_mm.analysis import speed
from tcformer_mm.ops.sync_free import formulation
from tcformer_mm.utils.launch import add_repo_root_to_path
from tcformer_mm.utils.rerun import run_probe


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', help='TCFormer arch, pvtv2-b0/b1/b2, or a config file')
    parser.add_argument('--reference', default='pvtv2-b2', help='reference model (same forms)')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=1, help='images per call (default 1)')
    parser.add_argument('--device',
                        type=speed.device_argument,
                        default='cpu',
                        help='cpu, cuda or cuda:N (default cpu)')
    parser.add_argument('--mode', choices=speed.MODES, default='forward', help='what a call runs')
    parser.add_argument('--backward', action='store_true', help='same as --mode backward')
    parser.add_argument('--amp', action='store_true', help='forward under autocast')
    parser.add_argument('--amp-dtype',
                        choices=('float16', 'bfloat16'),
                        help='autocast dtype (default float16 on CUDA, bfloat16 on CPU)')
    parser.add_argument('--formulation',
                        choices=('device', 'static', 'data-dependent', 'both'),
                        default='device',
                        help="the formulation of the clustering's search (default: the device's)")
    parser.add_argument('--compile',
                        action='store_true',
                        help='also time both models compiled as one graph')
    parser.add_argument('--compile-backend',
                        default='inductor',
                        help='torch.compile backend of --compile (default inductor)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds')
    parser.add_argument('--repeats', type=int, default=10, help='timed rounds')
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads (CPU)')
    parser.add_argument('--no-memory', action='store_true', help='skip the memory probes')
    parser.add_argument('--steady-malloc',
                        action='store_true',
                        help="fix glibc's mmap / trim thresholds: no page faults from memory "
                        'handed back to the system (see the module docstring)')
    parser.add_argument('--memory-probe', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.backward:
        args.mode = 'backward'
    if args.batch < 1:
        parser.error(f'--batch must be at least 1, got {args.batch}')
    args.amp_dtype = None if not args.amp else getattr(
        torch, args.amp_dtype or ('float16' if args.device.type == 'cuda' else 'bfloat16'))
    return args


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


def _step(spec: str, args):
    add_repo_root_to_path(__file__)  # for configs that import projects.<name>.<name>
    model = speed.build_model(spec).to(args.device)
    images = torch.randn(args.batch, 3, *args.shape, device=args.device)
    return model, speed.make_step(model, images, args.mode, args.amp_dtype)


def memory_probe(args) -> None:
    """Subprocess entry (CPU): print the peak extra memory of one call as JSON."""
    from tcformer_mm.analysis.memory import peak_rss_kib, rss_kib
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    _, step = _step(args.model, args)
    step()
    before = rss_kib()
    step()
    peak = peak_rss_kib()
    print(json.dumps(dict(peak_mib=peak / 1024, delta_mib=max(peak - before, 0) / 1024)))


def measure_memory(spec: str, step, args) -> float:
    """Peak extra MiB of one call of ``step`` (of model ``spec``)."""
    if args.device.type == 'cuda':
        return speed.cuda_peak_mib(step, args.device)
    probe_args = [
        spec, '--memory-probe', '--shape', *args.shape, '--threads', args.threads, '--batch',
        args.batch, '--mode', args.mode
    ] + (['--amp', '--amp-dtype', str(args.amp_dtype).split('.')[-1]] if args.amp else [])
    return run_probe(__file__, probe_args, f'memory probe of {spec}')['delta_mib']


#: ``--formulation`` -> the formulations of the model's rows (None: the device's).
FORMULATIONS = {
    'device': (None, ),
    'static': (True, ),
    'data-dependent': (False, ),
    'both': (True, False)
}


class Row(NamedTuple):
    """A timed variant: ``label`` (model spec, and the variant after a ``/``), the ``spec`` it
    builds, its formulation (None: the device's) and whether it is compiled."""
    label: str
    spec: str
    static: Optional[bool] = None
    compiled: bool = False


def plan_rows(args) -> List[Row]:
    """The model's rows, then the reference's."""
    statics = FORMULATIONS[args.formulation]
    rows = [
        Row(
            args.model if len(statics) == 1 else
            f'{args.model}/{"static" if static else "data-dep"}', args.model, static)
        for static in statics
    ]
    rows.append(Row(args.reference, args.reference))
    if args.compile:
        rows.insert(len(statics), Row(f'{args.model}/compiled', args.model, True, True))
        rows.append(Row(f'{args.reference}/compiled', args.reference, True, True))
    return rows


def _build(row: Row, args):
    try:
        model, step = _step(row.spec, args)
    except (ValueError, KeyError, FileNotFoundError) as error:
        raise SystemExit(f'benchmark.py: cannot build {row.spec!r}: {error}') from None
    if row.compiled:
        compiled = torch.compile(model, fullgraph=True, dynamic=False, backend=args.compile_backend)
        images = torch.randn(args.batch, 3, *args.shape, device=args.device)
        print(f'{row.label}: largest difference to eager {_difference(compiled, model, images):.1e}'
              ' (one forward, eval mode)')
        step = speed.make_step(compiled, images, args.mode, args.amp_dtype)
    return model, speed.in_formulation(step, row.static)


@torch.no_grad()
def _difference(compiled, model, images) -> float:
    """Largest absolute difference between the outputs of the compiled and the eager model
    (static formulation, the one the graph holds)."""
    training = model.training
    model.eval()
    with formulation(True):
        pairs = zip(compiled(images), model(images))
        difference = max(
            (getattr(c, 'x', c) - getattr(e, 'x', e)).abs().max().item() for c, e in pairs)
    model.train(training)
    return difference


def print_ratios(rows: List[Row], medians: List[float]) -> None:
    """Every row to the eager reference; static to data-dependent; compiled to eager static
    and to the compiled reference."""
    ms = {row.label: median for row, median in zip(rows, medians)}
    reference = next(row.label for row in rows if row.spec == rows[-1].spec and not row.compiled)
    for row in rows:
        if row.label != reference:
            print(f'latency ratio {row.label} / {reference}: {ms[row.label] / ms[reference]:.2f}x')
    model = rows[0].spec
    if f'{model}/data-dep' in ms:
        print(f'latency ratio {model}/static / {model}/data-dep: '
              f'{ms[f"{model}/static"] / ms[f"{model}/data-dep"]:.2f}x')
    eager = next(
        (row.label
         for row in rows if row.spec == model and row.static is not False and not row.compiled),
        None)
    if f'{model}/compiled' in ms:
        print(f'speed-up of compiling {model}: {ms[eager] / ms[f"{model}/compiled"]:.2f}x '
              f'(eager {eager})')
        print(f'latency ratio {model}/compiled / {reference}/compiled: '
              f'{ms[f"{model}/compiled"] / ms[f"{reference}/compiled"]:.2f}x')


def main(argv=None):
    args = parse_args(argv)
    if args.memory_probe:
        memory_probe(args)
        return
    if args.steady_malloc:
        steady_malloc()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = plan_rows(args)
    models, steps = zip(*(_build(row, args) for row in rows))
    times = speed.time_interleaved(steps, args.warmup, args.repeats, args.device)
    medians = [statistics.median(t) * 1000 for t in times]
    # Memory of the model's first row and of the eager reference.
    measured = {0: None, len(rows) - 1 - args.compile: None}
    if not args.no_memory:
        for i in measured:
            with formulation(rows[i].static):
                measured[i] = measure_memory(rows[i].spec, steps[i], args)

    dtype = 'fp32' if args.amp_dtype is None else f'autocast {str(args.amp_dtype)[6:]}'
    where = f'{args.threads} threads' if args.device.type == 'cpu' else str(args.device)
    print(f'{args.mode}, input {args.batch}x3x{args.shape[0]}x{args.shape[1]}, {dtype}, '
          f'{where}, {args.warmup} warm-up + {args.repeats} timed rounds (interleaved)' +
          (', steady malloc' if args.steady_malloc else ''))
    width = max(24, max(len(row.label) for row in rows) + 2)
    print(f'{"model":<{width}}{"params (M)":>12}{"median (ms)":>14}{"images/s":>12}'
          f'{"peak extra (MiB)":>18}')
    for i, (row, model, median) in enumerate(zip(rows, models, medians)):
        params = sum(p.numel() for p in model.parameters()) / 1e6
        mem = measured.get(i)
        mem_str = '-' if mem is None else f'{mem:.0f}'
        print(f'{row.label:<{width}}{params:>12.2f}{median:>14.1f}'
              f'{args.batch / median * 1000:>12.1f}{mem_str:>18}')
    print_ratios(rows, medians)
    first, reference = measured.values()
    if first is not None and reference > 0:
        print(f'memory ratio {rows[0].label} / {rows[-1 - args.compile].label}: '
              f'{first / reference:.2f}x')


if __name__ == '__main__':
    main()
