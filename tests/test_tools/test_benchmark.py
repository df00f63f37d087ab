"""tools/analysis_tools/benchmark.py: what it prints is what it measured (no timing asserted)."""
import re

import pytest
from conftest import run_tool

from tcformer_mm.models import TCFormer

TOOL = 'tools/analysis_tools/benchmark.py'


def _rows(stdout):
    """model -> (params in M, median ms, images/s, peak extra MiB or None)."""
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r'^(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)$', line)
        if m:
            rows[m[1]] = (float(m[2]), float(m[3]), float(m[4]),
                          None if m[5] == '-' else float(m[5]))
    return rows


@pytest.mark.parametrize('extra', [['--no-memory', '--steady-malloc'], []])
def test_benchmark_prints_medians_ratio_and_memory(extra):
    out = run_tool([
        TOOL, 'v2-tiny', '--reference', 'pvtv2-b0', '--shape', '64', '64', '--warmup', '1',
        '--repeats', '2'
    ] + extra).stdout
    rows = _rows(out)
    assert set(rows) == {'v2-tiny', 'pvtv2-b0'}
    params = sum(p.numel() for p in TCFormer(arch='v2-tiny').parameters()) / 1e6
    assert rows['v2-tiny'][0] == round(params, 2)
    ratio = float(re.search(r'latency ratio v2-tiny / pvtv2-b0: ([\d.]+)x', out)[1])
    # Printed medians are rounded to 0.1 ms.
    assert ratio == pytest.approx(rows['v2-tiny'][1] / rows['pvtv2-b0'][1], rel=0.05)
    assert ('steady malloc' in out) == ('--steady-malloc' in extra)
    if '--no-memory' in extra:
        assert rows['v2-tiny'][3] is None
    else:
        assert rows['v2-tiny'][3] > 0 and 'memory ratio' in out


def test_benchmark_training_step_with_amp_and_batch():
    out = run_tool([
        TOOL, 'v2-tiny', '--reference', 'pvtv2-b0', '--shape', '64', '64', '--warmup', '0',
        '--repeats', '1', '--batch', '2', '--mode', 'train', '--amp', '--no-memory'
    ]).stdout
    assert 'train, input 2x3x64x64, autocast bfloat16, 2 threads' in out
    rows = _rows(out)
    for params, ms, images_s, _ in rows.values():
        assert images_s == pytest.approx(2 / ms * 1000, rel=0.06, abs=0.06)


def test_benchmark_formulations_and_compiled_rows():
    out = run_tool([
        TOOL, 'v2-tiny', '--reference', 'pvtv2-b0', '--shape', '64', '64', '--warmup', '1',
        '--repeats', '1', '--formulation', 'both', '--compile', '--compile-backend', 'aot_eager',
        '--no-memory'
    ]).stdout
    rows = _rows(out)
    assert list(rows) == [
        'v2-tiny/static', 'v2-tiny/data-dep', 'v2-tiny/compiled', 'pvtv2-b0', 'pvtv2-b0/compiled'
    ]
    ms = {label: row[1] for label, row in rows.items()}
    for label in ('v2-tiny/compiled', 'pvtv2-b0/compiled'):
        difference = float(
            re.search(re.escape(label) + r': largest difference to eager (\S+) ', out)[1])
        assert difference <= 1e-4

    def ratio(text):
        return float(re.search(re.escape(text) + r': ([\d.]+)x', out)[1])

    for label in ('v2-tiny/static', 'v2-tiny/data-dep', 'v2-tiny/compiled', 'pvtv2-b0/compiled'):
        assert ratio(f'latency ratio {label} / pvtv2-b0') == pytest.approx(ms[label] /
                                                                           ms['pvtv2-b0'],
                                                                           rel=0.05,
                                                                           abs=0.01)
    assert ratio('latency ratio v2-tiny/static / v2-tiny/data-dep') == pytest.approx(
        ms['v2-tiny/static'] / ms['v2-tiny/data-dep'], rel=0.05, abs=0.01)
    assert ratio('speed-up of compiling v2-tiny') == pytest.approx(ms['v2-tiny/static'] /
                                                                   ms['v2-tiny/compiled'],
                                                                   rel=0.05,
                                                                   abs=0.01)
    assert ratio('latency ratio v2-tiny/compiled / pvtv2-b0/compiled') == pytest.approx(
        ms['v2-tiny/compiled'] / ms['pvtv2-b0/compiled'], rel=0.05, abs=0.01)


def test_benchmark_rejects_cuda_without_a_gpu():
    result = run_tool([TOOL, 'v2-tiny', '--device', 'cuda'], check=False)
    assert result.returncode == 2 and 'CUDA is not available' in result.stderr


def test_benchmark_rejects_an_unknown_model():
    result = run_tool([TOOL, 'v3-huge', '--no-memory'], check=False)
    assert result.returncode != 0
    assert 'v3-huge' in result.stderr and 'Traceback' not in result.stderr
