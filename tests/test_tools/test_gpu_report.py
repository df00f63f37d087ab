"""tools/analysis_tools/gpu_report.sh end to end on CPU (small sizes): every section runs and
its figures are consistent with each other and with the counters run here; a short budget
skips the later sections and keeps the finished ones."""
import re
import time

import pytest
import torch
from conftest import load_script, run_tool

from tcformer_mm.analysis import speed
from tcformer_mm.analysis.op_count import count_forward_ops

SIZES = [
    '--device', 'cpu', '--shape', '64', '64', '--batch-forward', '2', '--batch-train', '2',
    '--det-shape', '96', '160', '--det-batch', '1', '--warmup', '0', '--repeats', '1'
]
TITLES = [
    'Host synchronisation', 'Forward throughput', 'Training step',
    'V2-Small + CR-MTA at detection size', 'ATen ops per forward',
    'Top kernels of a V2-Small forward', 'Eager against compiled'
]
#: model, token ops, params, median (ms), images/s, peak, ratio
TIMED_ROW = re.compile(
    r'^(\S+)\s+(static|data-dep\.|-)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+-\s+(\S+)$', re.M)
#: (model, token ops) of the rows of sections 2 (forward), 3 (train) and 4 (det forward, train)
TRAIN_MODELS = [('v1', 'static'), ('v2-small', 'static'), ('pvtv2-b2', '-')]
FORWARD_MODELS = TRAIN_MODELS[:2] + [('v2-small', 'data-dep.')] + TRAIN_MODELS[2:]
TIMED_MODELS = FORWARD_MODELS + TRAIN_MODELS + [('v2-small+mta-cr', 'static')] * 2
#: (model, H, W) of the op-count rows
COUNTED = [('v1', 64, 64), ('v2-small', 64, 64), ('pvtv2-b2', 64, 64), ('v2-small+mta-cr', 96, 160),
           ('pvtv2-b2', 96, 160)]


def _report(out, env, *options):
    run_tool(['tools/analysis_tools/gpu_report.sh', str(out)] + SIZES + list(options), env=env)


def _check_timed_rows(text):
    rows = TIMED_ROW.findall(text)
    assert [r[:2] for r in rows] == TIMED_MODELS, text
    tables = [rows[:4], rows[4:7]]
    for table in tables:
        anchor = float(table[-1][3])
        for *_, ms, _, ratio in table:
            ms = float(ms)
            # Rounding: the ratio to 0.01, each median to 0.1 ms.
            tolerance = 0.0051 + ms / anchor * (0.05 / ms + 0.05 / anchor)
            assert float(ratio.rstrip('x')) == pytest.approx(ms / anchor, abs=tolerance)
    for name, _, _, ms, images_s, ratio in rows:
        batch = 1 if name.endswith('mta-cr') else 2
        assert float(images_s) == pytest.approx(batch / float(ms) * 1000, rel=0.06, abs=0.06)
    assert [r[-1] for r in rows[-2:]] == ['-', '-']  # no PVTv2 in the detection tables


def _check_op_counts(text):
    rows = re.findall(r'^(\S+)\s+(\d+)x(\d+)\s+(\d+)\s+(\d+)$', text, re.M)
    assert [(r[0], int(r[1]), int(r[2])) for r in rows] == COUNTED
    counts = {(m, int(h)): (int(s), int(d)) for m, h, _, s, d in rows}
    # The static formulation's count follows from the input's size alone.
    for spec, h, w in COUNTED[:4]:
        expected = count_forward_ops(speed.build_model(spec), torch.rand(1, 3, h, w), True)
        assert counts[(spec, h)][0] == expected.total, spec
    for spec, (static, dynamic) in counts.items():
        if spec[0] == 'pvtv2-b2':  # no token ops: one formulation
            assert static == dynamic
        else:  # the data-dependent one adds its searches and compactions
            assert dynamic != static, spec


def test_gpu_report_runs_on_cpu(tmp_path):
    # The static formulation, as on a GPU; --out a folder that does not exist yet.
    _report(tmp_path / 'out', {'TCFORMER_SYNC_FREE': '1'})
    text = (tmp_path / 'out' / 'gpu_report.txt').read_text()
    assert 'FAILED' not in text and 'SKIPPED' not in text, text
    numbered = [(str(i), title) for i, title in enumerate(TITLES, 1)]
    assert re.findall(r'^## (\d+)\. (.+)$', text, re.M) == numbered
    for what in ('forward', r'training step \(forward \+ backward\)'):
        line = rf'^v2-small {what}, 2x3x64x64, static formulation: 0 host-sync ops'
        assert re.search(line, text, re.M), text
    _check_timed_rows(text)
    _check_op_counts(text)
    assert 'fullgraph=True' in text and 'speed-up' in text


def test_gpu_report_short_budget_keeps_finished_sections(tmp_path):
    # Every section after the first needs at least 20 s: none starts once the first has run.
    out = tmp_path / 'report.txt'
    _report(out, {'TCFORMER_SYNC_FREE': '0'}, '--budget', '20')
    text = out.read_text()
    assert text.startswith('# tcformer_mm GPU report\n')
    first, *later = re.split(r'^## \d+\. ', text, flags=re.M)[1:]
    line = r'^v2-small forward, 2x3x64x64, data-dependent formulation: (\d+) host-sync ops'
    syncs = re.search(line, first, re.M)
    assert syncs and int(syncs.group(1)) > 0, text
    assert re.search(r'^\(\d+ s\)$', first, re.M), text  # finished
    assert [s.splitlines()[0] for s in later] == TITLES[1:]
    for section in later:
        assert re.match(r'.*\nSKIPPED: budget \(\d+ s left\)\n', section), section


def test_a_section_that_overruns_is_stopped_and_reported(tmp_path):
    gpu_report = load_script('tools/analysis_tools/gpu_report.py')

    def spin(report, args):
        report('started')
        while True:  # torch ops: the alarm gets in between them
            torch.ones(64) + 1

    report = gpu_report.Report(str(tmp_path / 'report.txt'), budget=1)
    start = time.perf_counter()
    report.section(1, gpu_report.Section('Spins', spin, 1.0, 0.1), 1.0, None)
    report.section(2, gpu_report.Section('Next', spin, 1.0, 0.1), 1.0, None)
    report.close()
    assert time.perf_counter() - start < 10
    text = (tmp_path / 'report.txt').read_text()
    assert re.search(r'## 1\. Spins\nstarted\nFAILED: section exceeded its 1 s\n', text), text
    assert re.search(r'## 2\. Next\nSKIPPED: budget \(0 s left\)\n', text), text
