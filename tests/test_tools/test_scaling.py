"""tools/analysis_tools/scaling.py: a row per size, a column per model, ratios to the last."""
import re

import pytest
from conftest import run_tool

TOOL = 'tools/analysis_tools/scaling.py'


def test_scaling_table():
    out = run_tool([
        TOOL, '--models', 'v2-tiny', 'pvtv2-b0', '--shapes', '64', '64', '64', '96', '--warmup',
        '0', '--repeats', '1'
    ]).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r'^(\d+x\d+)\s+([\d.]+) \(([\d.]+)x\)\s+([\d.]+) \(([\d.]+)x\)$', line)
        if m:
            rows[m[1]] = [float(v) for v in m.groups()[1:]]
    assert list(rows) == ['64x64', '64x96']
    for ms, ratio, ref_ms, ref_ratio in rows.values():
        assert ref_ratio == 1.0
        assert ratio == pytest.approx(ms / ref_ms, rel=0.05, abs=0.01)


@pytest.mark.parametrize('args,message', [(['--shapes', '64'], 'H W pairs'),
                                          (['--models', 'v2-tiny'], 'at least two models')])
def test_scaling_argument_errors(args, message):
    result = run_tool([TOOL] + args, check=False)
    assert result.returncode == 2 and message in result.stderr
