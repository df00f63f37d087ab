"""One-shot report of TCFormer on a GPU: throughput, training steps, detection size, memory,
host synchronisation, the top kernels, eager against compiled; one text file.

Examples::

    bash tools/analysis_tools/gpu_report.sh docs/gpu_report.txt        # a GPU, the defaults
    python tools/analysis_tools/gpu_report.py --device cpu --out report.txt \\
        --shape 64 64 --batch-forward 2 --batch-train 2 --det-shape 128 192 --repeats 1

Sections (PVTv2-B2 measured in the same run as the anchor; mmdet's, or timm's where mmdet is
not installed):

1. Forward throughput, ``--batch-forward`` (64) images of ``--shape`` (224x224) under AMP
   (fp16 autocast on CUDA, bf16 on CPU), the papers' Table I protocol: V1, V2-Small, PVTv2-B2.
2. Training step (forward + backward + AdamW) at ``--batch-train`` (32) with AMP.
3. V2-Small + CR-MTA neck at ``--det-shape`` (800x1344), ``--det-batch`` (2): forward and
   training step.
4. Host-synchronising ops of a V2-Small forward and training step on the device.
5. The 15 kernels (CUDA) or ops (CPU) that take the most time in a V2-Small forward.
6. Eager against ``torch.compile(fullgraph=True)`` (inductor on CUDA, aot_eager on CPU) of
   the V2-Small forward at the section-1 batch.

Peak memory is what one call allocates on top of the model (``torch.cuda.max_memory_allocated``;
not measured on CPU). Timings are medians of ``--repeats`` interleaved calls after ``--warmup``
rounds, the device synchronised around each. A section that fails is reported as failed and the
others still run.
"""
import argparse
import os
import platform
import statistics
import sys
import time
import traceback

import torch

# Make `tcformer_mm` importable when the script runs from a source checkout.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))

from tcformer_mm.analysis import speed  # noqa: E402
from tcformer_mm.analysis.host_sync import HostSyncCounter  # noqa: E402
from tcformer_mm.ops.sync_free import sync_free  # noqa: E402

MODELS = ('v1', 'v2-small', 'pvtv2-b2')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device',
                        type=speed.device_argument,
                        default='cuda',
                        help='cuda (default), cuda:N or cpu')
    parser.add_argument('--out', default='gpu_report.txt', help='the report file')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--batch-forward', type=int, default=64)
    parser.add_argument('--batch-train', type=int, default=32)
    parser.add_argument('--det-shape', type=int, nargs=2, default=[800, 1344], metavar=('H', 'W'))
    parser.add_argument('--det-batch', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds')
    parser.add_argument('--repeats', type=int, default=10, help='timed rounds')
    return parser.parse_args(argv)


class Report:
    """Lines written to the console and, at the end, to the report file."""

    def __init__(self):
        self.lines = []

    def __call__(self, line: str = '') -> None:
        print(line, flush=True)
        self.lines.append(line)

    def section(self, title: str, fn, *args) -> None:
        self()
        self(f'## {title}')
        start = time.perf_counter()
        try:
            fn(self, *args)
        except Exception as error:  # one failed section must not lose the others
            self(f'FAILED: {type(error).__name__}: {error}')
            self.lines.extend('    ' + line for line in traceback.format_exc().splitlines()[-12:])
        self(f'({time.perf_counter() - start:.0f} s)')


def _amp_dtype(device):
    return torch.float16 if device.type == 'cuda' else torch.bfloat16


def _timed_table(report, args, specs, shape, batch, mode):
    """Interleaved medians, throughput and peak memory of ``specs``; one row each."""
    torch.manual_seed(0)
    images = torch.randn(batch, 3, *shape, device=args.device)
    steps, params = [], []
    for spec in specs:
        model = speed.build_model(spec).to(args.device)
        params.append(sum(p.numel() for p in model.parameters()) / 1e6)
        steps.append(speed.make_step(model, images, mode, _amp_dtype(args.device)))
    times = speed.time_interleaved(steps, args.warmup, args.repeats, args.device)
    memory = [
        speed.cuda_peak_mib(step, args.device) if args.device.type == 'cuda' else None
        for step in steps
    ]
    medians = [statistics.median(t) * 1000 for t in times]
    report(f'{mode}, {batch}x3x{shape[0]}x{shape[1]}, AMP {str(_amp_dtype(args.device))[6:]}')
    report(f'{"model":<20}{"params (M)":>11}{"median (ms)":>13}{"images/s":>11}'
           f'{"peak (MiB)":>12}{"ratio":>8}')
    anchor = medians[-1] if specs[-1].startswith('pvtv2') else None
    for spec, p, ms, mem in zip(specs, params, medians, memory):
        ratio = f'{ms / anchor:.2f}x' if anchor else '-'
        mem_str = '-' if mem is None else f'{mem:.0f}'
        report(f'{spec:<20}{p:>11.2f}{ms:>13.1f}{batch / ms * 1000:>11.1f}{mem_str:>12}'
               f'{ratio:>8}')


def forward_throughput(report, args):
    _timed_table(report, args, MODELS, args.shape, args.batch_forward, 'forward')


def training_step(report, args):
    _timed_table(report, args, MODELS, args.shape, args.batch_train, 'train')


def detection_size(report, args):
    for mode in ('forward', 'train'):
        _timed_table(report, args, ['v2-small+mta-cr'], args.det_shape, args.det_batch, mode)


def host_syncs(report, args):
    from tcformer_mm.models import TCFormer
    model = TCFormer(arch='v2-small').to(args.device)
    images = torch.randn(2, 3, *args.shape, device=args.device)
    report(f'token ops formulation on {args.device}: '
           f'{"static (sync-free)" if sync_free(args.device) else "data-dependent"}')
    for train in (False, True):
        model.train(train)
        with torch.set_grad_enabled(train), HostSyncCounter() as syncs:
            outputs = model(images)
            if train:
                speed.outputs_loss(outputs).backward()
        what = 'training step (forward + backward)' if train else 'forward'
        report(f'v2-small {what}, 2x3x{args.shape[0]}x{args.shape[1]}: {syncs.total} host-sync '
               f'ops {dict(syncs.by_op()) or ""}')


def top_kernels(report, args):
    from torch.profiler import ProfilerActivity, profile
    torch.manual_seed(0)
    model = speed.build_model('v2-small').to(args.device)
    images = torch.randn(args.batch_forward, 3, *args.shape, device=args.device)
    step = speed.make_step(model, images, 'forward', _amp_dtype(args.device))
    step()
    cuda = args.device.type == 'cuda'
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        step()
        speed.synchronize(args.device)
    key = 'self_cuda_time_total' if cuda else 'self_cpu_time_total'
    report(f'v2-small forward, {args.batch_forward}x3x{args.shape[0]}x{args.shape[1]}, AMP')
    table = prof.key_averages().table(sort_by=key, row_limit=15, max_name_column_width=60)
    for line in table.splitlines():
        report(line)


def eager_vs_compiled(report, args):
    torch.manual_seed(0)
    backend = 'inductor' if args.device.type == 'cuda' else 'aot_eager'
    model = speed.build_model('v2-small').to(args.device)
    images = torch.randn(args.batch_forward, 3, *args.shape, device=args.device)
    compiled_model = torch.compile(model, fullgraph=True, dynamic=False, backend=backend)
    eager = speed.make_step(model, images, 'forward', _amp_dtype(args.device))
    compiled = speed.make_step(compiled_model, images, 'forward', _amp_dtype(args.device))
    start = time.perf_counter()
    compiled()
    speed.synchronize(args.device)
    compile_s = time.perf_counter() - start
    times = speed.time_interleaved([eager, compiled], args.warmup, args.repeats, args.device)
    eager_ms, compiled_ms = (statistics.median(t) * 1000 for t in times)
    with torch.no_grad(), torch.autocast(args.device.type, dtype=_amp_dtype(args.device)):
        diff = max((getattr(a, 'x', a).float() - getattr(b, 'x', b).float()).abs().max().item()
                   for a, b in zip(model(images), compiled_model(images)))
    report(f'v2-small forward, {args.batch_forward}x3x{args.shape[0]}x{args.shape[1]}, AMP, '
           f'backend {backend}, fullgraph=True')
    report(f'first compiled call (compiling): {compile_s:.1f} s')
    report(f'eager {eager_ms:.1f} ms, compiled {compiled_ms:.1f} ms: speed-up '
           f'{eager_ms / compiled_ms:.2f}x; largest output difference {diff:.3g} (eager in the '
           f'{"static" if sync_free(args.device) else "data-dependent"} formulation)')


def main(argv=None):
    args = parse_args(argv)
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('WARNING')  # no weight-init listings
    report = Report()
    report('# tcformer_mm GPU report')
    name = torch.cuda.get_device_name(args.device) if args.device.type == 'cuda' else \
        platform.processor() or platform.machine()
    report(f'device {args.device} ({name}), torch {torch.__version__}, Python '
           f'{platform.python_version()}, {time.strftime("%Y-%m-%d %H:%M")}')
    report(f'{args.warmup} warm-up + {args.repeats} timed rounds, medians')
    report.section('1. Forward throughput', forward_throughput, args)
    report.section('2. Training step', training_step, args)
    report.section('3. V2-Small + CR-MTA at detection size', detection_size, args)
    report.section('4. Host synchronisation', host_syncs, args)
    report.section('5. Top kernels of a V2-Small forward', top_kernels, args)
    report.section('6. Eager against compiled', eager_vs_compiled, args)
    with open(args.out, 'w') as f:
        f.write('\n'.join(report.lines) + '\n')
    print(f'report written to {args.out}')


if __name__ == '__main__':
    main()
