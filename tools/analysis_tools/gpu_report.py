"""One-shot report of TCFormer on a GPU, written section by section to one text file.

Host synchronisation, throughput, training steps, detection size, memory, ATen op counts, the
top kernels, eager against compiled.

Examples::

    bash tools/analysis_tools/gpu_report.sh "$OUT" --budget 480   # a GPU; OUT: a folder
    python tools/analysis_tools/gpu_report.py --device cpu --out report.txt \\
        --shape 64 64 --batch-forward 2 --batch-train 2 --det-shape 128 192 --repeats 1

Sections, in order of importance (PVTv2-B2 measured in the same run as the anchor; mmdet's,
or timm's where mmdet is not installed):

1. Host-synchronising ops of a V2-Small forward and training step on the device, in the
   formulation the token ops take there (``tcformer_mm/ops/sync_free.py``); on CUDA also the
   synchronising calls torch's sync debug mode reports (a kernel that reads a value back in
   its host code is invisible to the dispatcher).
2. Forward throughput, ``--batch-forward`` (64) images of ``--shape`` (224x224) under AMP
   (fp16 autocast on CUDA, bf16 on CPU), the papers' Table I protocol: V1, V2-Small, PVTv2-B2.
   Where the device takes the static formulation (CUDA), V2-Small is also timed in the
   data-dependent one (``TCFORMER_SYNC_FREE=0``).
3. Training step (forward + backward + AdamW) at ``--batch-train`` (32) with AMP.
4. V2-Small + CR-MTA neck at ``--det-shape`` (800x1344), ``--det-batch`` (2): forward and
   training step.
5. ATen ops of one fp32 forward at batch 1 (``tcformer_mm.analysis.op_count``) in both
   formulations: V1 and V2-Small at ``--shape``, V2-Small + CR-MTA at ``--det-shape``, PVTv2-B2
   at both.
6. The 15 kernels (CUDA) or ops (CPU) that take the most time in a V2-Small forward.
7. Eager against ``torch.compile(fullgraph=True)`` (inductor on CUDA, aot_eager on CPU) of
   the V2-Small forward at the section-2 batch.

Peak memory is what one call allocates on top of the model (``torch.cuda.max_memory_allocated``;
not measured on CPU). Timings are medians of ``--repeats`` interleaved calls after ``--warmup``
rounds, the device synchronised around each.

Made for a machine lent for minutes, whose command is cut at a time limit: ``--out`` may be a
folder (the report is ``gpu_report.txt`` in it); every line is written to the file as it comes
and each section is synced to disk when it ends, so a run cut short keeps what it finished.
``--budget`` bounds the run (counted from the start of the report, after the imports): each
section gets a share of what is left (:data:`SECTIONS`); one is skipped when less than its
minimum is left, its timing stops after its share (at least one timed round; the table says how
many) and it is stopped after twice its share or three times its minimum, within the budget
(``SIGALRM``, between two Python bytecodes: a CUDA call or a compile in C++ runs to its end
first, and the device is left usable). SIGTERM (a command cut at its limit) ends the run, the
section it cut marked as failed. A section that fails or overruns is reported as such and the
others still run.
"""
import argparse
import os
import platform
import signal
import statistics
import sys
import time
import traceback
import warnings
from typing import Callable, NamedTuple

import torch

# Make `tcformer_mm` importable when the script runs from a source checkout.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))

from tcformer_mm.analysis import speed  # noqa: E402
from tcformer_mm.analysis.host_sync import HostSyncCounter  # noqa: E402
from tcformer_mm.analysis.op_count import count_forward_ops  # noqa: E402
from tcformer_mm.ops.sync_free import ENV_VAR, formulation, sync_free  # noqa: E402

MODELS = ('v1', 'v2-small', 'pvtv2-b2')
#: The report's file name where ``--out`` is a folder.
REPORT_NAME = 'gpu_report.txt'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device',
                        type=speed.device_argument,
                        default='cuda',
                        help='cuda (default), cuda:N or cpu')
    parser.add_argument('--out',
                        default=REPORT_NAME,
                        help=f'the report file, or a folder to write {REPORT_NAME} in (an '
                        'existing one, or a path ending in / or without an extension: created)')
    parser.add_argument('--budget',
                        type=float,
                        default=540,
                        help='seconds for the whole report (default 540: a 600 s command '
                        'limit less the start); sections that do not fit are skipped')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--batch-forward', type=int, default=64)
    parser.add_argument('--batch-train', type=int, default=32)
    parser.add_argument('--det-shape', type=int, nargs=2, default=[800, 1344], metavar=('H', 'W'))
    parser.add_argument('--det-batch', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds')
    parser.add_argument('--repeats', type=int, default=10, help='timed rounds (at most)')
    return parser.parse_args(argv)


def report_path(out: str) -> str:
    """The report file ``--out`` names (see its help); its folder is created."""
    is_dir = os.path.isdir(out) or out.endswith(('/', os.sep)) or not os.path.splitext(out)[1]
    path = os.path.join(out, REPORT_NAME) if is_dir else out
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    return path


class SectionTimeout(BaseException):
    """Raised by the alarm in a section that overran. Not an ``Exception``: code that catches
    and wraps those (``torch.compile`` does) lets it through."""


class Terminated(BaseException):
    """Raised by SIGTERM (a command cut at its time limit): the section says so before exit."""


class _Alarm:
    """Raise :class:`SectionTimeout` after ``seconds`` (main thread, where signals go).
    ``fired`` tells an overrun apart even where a library wrapped the exception."""

    def __init__(self, seconds: float):
        self.seconds = max(seconds, 0.01)
        self.fired = False

    def _ring(self, signum, frame):
        self.fired = True
        raise SectionTimeout(f'section exceeded its {self.seconds:.0f} s')

    def __enter__(self):
        if hasattr(signal, 'SIGALRM'):  # no alarms on Windows: the section runs unbounded
            self.previous = signal.signal(signal.SIGALRM, self._ring)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if hasattr(signal, 'SIGALRM'):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def _terminate(signum, frame):
    raise Terminated(f'terminated by signal {signum}')


class Section(NamedTuple):
    title: str
    run: Callable
    # Weight: the section gets share / (its and the later sections' shares) of the budget left.
    share: float
    minimum: float  # seconds below which the section is not started (a GPU's rough need)


class Report:
    """Lines to the console and the report file, each section synced to disk when it ends.

    Attributes:
        deadline (float): ``time.perf_counter()`` at which the budget runs out.
        share_end (float): When the running section's share runs out (its timing stops).
    """

    def __init__(self, path: str, budget: float):
        self.path = path
        self.file = open(path, 'w')
        self.deadline = time.perf_counter() + budget
        self.share_end = self.deadline

    def __call__(self, line: str = '') -> None:
        print(line, flush=True)
        # Flushed line by line: the OS keeps what was written even if the process is killed.
        self.file.write(line + '\n')
        self.file.flush()

    def sync(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def slice_end(self, parts: int) -> float:
        """When the next of ``parts`` equal parts of what is left of the section's share ends."""
        now = time.perf_counter()
        return now + max(self.share_end - now, 0) / parts

    def section(self, number: int, section: Section, share: float, args) -> None:
        """Run ``section`` with ``share`` (a fraction) of the budget left, or mark it skipped."""
        self()
        self(f'## {number}. {section.title}')
        left = self.left()
        if left < section.minimum:
            self(f'SKIPPED: budget ({max(left, 0):.0f} s left)')
            return self.sync()
        self.share_end = time.perf_counter() + share * left
        start = time.perf_counter()
        alarm = _Alarm(min(left, max(2 * share * left, 3 * section.minimum)))
        try:
            with alarm:
                section.run(self, args)
        except (Exception, SectionTimeout, Terminated) as error:
            self._failed(error, alarm)
            if isinstance(error, Terminated):
                self.sync()
                raise
        self(f'({time.perf_counter() - start:.0f} s)')
        self.sync()

    def _failed(self, error: BaseException, alarm: _Alarm) -> None:
        if alarm.fired or isinstance(error, SectionTimeout):
            self(f'FAILED: section exceeded its {alarm.seconds:.0f} s')
        else:
            self(f'FAILED: {type(error).__name__}: {error}')
        for line in traceback.format_exc().splitlines()[-12:]:
            self('    ' + line)


def _amp_dtype(device):
    return torch.float16 if device.type == 'cuda' else torch.bfloat16


def _formulation_name(static: bool) -> str:
    return 'static' if static else 'data-dep.'


def _build_steps(args, rows, images, mode):
    """One timed step per ``(spec, static)`` row, its parameters (M) and token-ops name."""
    steps, params, token_ops = [], [], []
    for spec, static in rows:
        model = speed.build_model(spec).to(args.device)
        params.append(sum(p.numel() for p in model.parameters()) / 1e6)
        with formulation(static):
            step = speed.make_step(model, images, mode, _amp_dtype(args.device))
            name = _formulation_name(sync_free(args.device))
            token_ops.append('-' if spec in speed.PVTV2 else name)
        steps.append(speed.in_formulation(step, static))
    return steps, params, token_ops


def _timed_table(report, args, rows, shape, batch, mode, deadline):
    """Interleaved medians, throughput and peak memory of ``rows`` (``(spec, static)``: the
    model and its token ops' formulation, None for the device's), one line each; the ratio is
    to the last row where that is PVTv2."""
    torch.manual_seed(0)
    images = torch.randn(batch, 3, *shape, device=args.device)
    steps, params, token_ops = _build_steps(args, rows, images, mode)
    times = speed.time_interleaved(steps, args.warmup, args.repeats, args.device, deadline)
    memory = [
        speed.cuda_peak_mib(step, args.device) if args.device.type == 'cuda' else None
        for step in steps
    ]
    medians = [statistics.median(t) * 1000 for t in times]
    rounds = f'{len(times[0])} timed rounds' + (f' of {args.repeats} (the section\'s time share '
                                                'ran out)' if len(times[0]) < args.repeats else '')
    report(f'{mode}, {batch}x3x{shape[0]}x{shape[1]}, AMP {str(_amp_dtype(args.device))[6:]}, '
           f'{rounds}')
    report(f'{"model":<20}{"token ops":<11}{"params (M)":>10}{"median (ms)":>13}{"images/s":>11}'
           f'{"peak (MiB)":>12}{"ratio":>8}')
    anchor = medians[-1] if rows[-1][0] in speed.PVTV2 else None
    for (spec, _), ops, p, ms, mem in zip(rows, token_ops, params, medians, memory):
        ratio = f'{ms / anchor:.2f}x' if anchor else '-'
        mem_str = '-' if mem is None else f'{mem:.0f}'
        report(f'{spec:<20}{ops:<11}{p:>10.2f}{ms:>13.1f}{batch / ms * 1000:>11.1f}{mem_str:>12}'
               f'{ratio:>8}')


def host_syncs(report, args):
    from tcformer_mm.models import TCFormer
    model = TCFormer(arch='v2-small').to(args.device)
    images = torch.randn(2, 3, *args.shape, device=args.device)
    formulation = 'static' if sync_free(args.device) else 'data-dependent'
    for train in (False, True):
        model.train(train)

        def step():
            with torch.set_grad_enabled(train):
                outputs = model(images)
                if train:
                    speed.outputs_loss(outputs).backward()

        with HostSyncCounter() as syncs:
            step()
        what = 'training step (forward + backward)' if train else 'forward'
        report(f'v2-small {what}, 2x3x{args.shape[0]}x{args.shape[1]}, {formulation} '
               f'formulation: {syncs.total} host-sync ops {dict(syncs.by_op()) or ""}')
        if args.device.type == 'cuda':
            # What the dispatcher cannot see: a kernel that reads a value back internally.
            caught = _cuda_sync_warnings(step)
            report(f'  CUDA sync debug mode: {len(caught)} synchronising calls' +
                   (f'; first: {caught[0]}' if caught else ''))


def _cuda_sync_warnings(run: Callable[[], None]) -> list:
    """The messages of the synchronising CUDA calls that ``run`` makes (torch's sync debug
    mode, which sees them inside the kernels' host code too)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try:
            run()
        finally:
            torch.cuda.set_sync_debug_mode('default')
    return [str(w.message).splitlines()[0] for w in caught if 'synchroniz' in str(w.message)]


def forward_throughput(report, args):
    rows = [(spec, None) for spec in MODELS]
    if sync_free(args.device):  # the data-dependent formulation beside it, for the ratio
        rows.insert(2, ('v2-small', False))
    report(f'token ops on {args.device}: {_formulation_name(sync_free(args.device))}')
    deadline = report.slice_end(1)
    _timed_table(report, args, rows, args.shape, args.batch_forward, 'forward', deadline)


def training_step(report, args):
    _timed_table(report, args, [(spec, None) for spec in MODELS], args.shape, args.batch_train,
                 'train', report.slice_end(1))


def detection_size(report, args):
    report(f'token ops on {args.device}: {_formulation_name(sync_free(args.device))}')
    for parts, mode in ((2, 'forward'), (1, 'train')):
        _timed_table(report, args, [('v2-small+mta-cr', None)], args.det_shape, args.det_batch,
                     mode, report.slice_end(parts))


def op_counts(report, args):
    """ATen ops per forward (``tools/analysis_tools/op_counts.py``), counted on the device."""
    rows = [(spec, args.shape) for spec in MODELS]
    rows += [('v2-small+mta-cr', args.det_shape), ('pvtv2-b2', args.det_shape)]
    report('one forward, batch 1, fp32; views and detaches not counted')
    report(f'{"model":<20}{"input":>11}{"static":>9}{"data-dep.":>11}')
    for spec, shape in rows:
        torch.manual_seed(0)
        model = speed.build_model(spec).to(args.device)
        images = torch.rand(1, 3, *shape, device=args.device)
        static, dynamic = (count_forward_ops(model, images, static=s) for s in (True, False))
        report(f'{spec:<20}{shape[0]:>6}x{shape[1]:<4}{static.total:>9}{dynamic.total:>11}')


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
    times = speed.time_interleaved([eager, compiled], args.warmup, args.repeats, args.device,
                                   report.slice_end(1))
    eager_ms, compiled_ms = (statistics.median(t) * 1000 for t in times)
    with torch.no_grad(), torch.autocast(args.device.type, dtype=_amp_dtype(args.device)):
        diff = max((getattr(a, 'x', a).float() - getattr(b, 'x', b).float()).abs().max().item()
                   for a, b in zip(model(images), compiled_model(images)))
    report(f'v2-small forward, {args.batch_forward}x3x{args.shape[0]}x{args.shape[1]}, AMP, '
           f'backend {backend}, fullgraph=True, {len(times[0])} timed rounds')
    report(f'first compiled call (compiling): {compile_s:.1f} s')
    report(f'eager {eager_ms:.1f} ms, compiled {compiled_ms:.1f} ms: speed-up '
           f'{eager_ms / compiled_ms:.2f}x; largest output difference {diff:.3g} (eager in the '
           f'{_formulation_name(sync_free(args.device))} formulation)')


#: In order of importance. ``share``: the section's weight in the budget left when it starts
#: (the last takes all that is left); ``minimum``: the seconds it roughly needs on a GPU at the
#: default sizes, model building and a warm-up included.
SECTIONS = (
    Section('Host synchronisation', host_syncs, 0.05, 10),
    Section('Forward throughput', forward_throughput, 0.15, 20),
    Section('Training step', training_step, 0.15, 20),
    Section('V2-Small + CR-MTA at detection size', detection_size, 0.15, 20),
    Section('ATen ops per forward', op_counts, 0.05, 20),
    Section('Top kernels of a V2-Small forward', top_kernels, 0.05, 20),
    Section('Eager against compiled', eager_vs_compiled, 0.4, 60),
)


def header(report, args):
    name = torch.cuda.get_device_name(args.device) if args.device.type == 'cuda' else \
        platform.processor() or platform.machine()
    report('# tcformer_mm GPU report')
    report(f'device {args.device} ({name}), torch {torch.__version__}, Python '
           f'{platform.python_version()}, {time.strftime("%Y-%m-%d %H:%M")}')
    report(f'{args.warmup} warm-up + up to {args.repeats} timed rounds, medians; budget '
           f'{args.budget:.0f} s; token ops on {args.device}: '
           f'{_formulation_name(sync_free(args.device))} ({ENV_VAR}='
           f'{os.environ.get(ENV_VAR, "unset")})')
    report.sync()


def main(argv=None):
    args = parse_args(argv)
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('WARNING')  # no weight-init listings
    report = Report(report_path(args.out), args.budget)
    signal.signal(signal.SIGTERM, _terminate)
    header(report, args)
    shares = [section.share for section in SECTIONS]
    for number, section in enumerate(SECTIONS, 1):
        try:
            report.section(number, section, shares[number - 1] / sum(shares[number - 1:]), args)
        except Terminated:
            print(f'report written to {report.path} (terminated)')
            sys.exit(128 + signal.SIGTERM)
    report.close()
    print(f'report written to {report.path}')


if __name__ == '__main__':
    main()
