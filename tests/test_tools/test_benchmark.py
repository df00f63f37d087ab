"""tools/analysis_tools/benchmark.py: what it prints is what it measured (no timing asserted)."""
import re

import pytest
from conftest import run_tool

from tcformer_mm.models import TCFormer

TOOL = 'tools/analysis_tools/benchmark.py'


def _rows(stdout):
    """model -> (params in M, median ms, peak extra MiB or None)."""
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r'^(\S+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)$', line)
        if m:
            rows[m[1]] = (float(m[2]), float(m[3]), None if m[4] == '-' else float(m[4]))
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
        assert rows['v2-tiny'][2] is None
    else:
        assert rows['v2-tiny'][2] > 0 and 'memory ratio' in out


def test_benchmark_rejects_an_unknown_model():
    result = run_tool([TOOL, 'v3-huge', '--no-memory'], check=False)
    assert result.returncode != 0
    assert 'v3-huge' in result.stderr and 'Traceback' not in result.stderr
