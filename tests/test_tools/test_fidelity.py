"""tools/analysis_tools/fidelity.py: per-stage differences from the released computation."""
import re

from conftest import run_tool

TOOL = 'tools/analysis_tools/fidelity.py'


def test_fidelity_prints_one_row_per_stage():
    out = run_tool([TOOL, 'v2-tiny', '--shape', '61', '77', '--dtype', 'float64']).stdout
    rows = re.findall(r'^\s+(\d)\s+(\d+)\s+([\d.]+)%\s+(\S+)\s+([\d.]+)%$', out, re.M)
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4]
    # 16x20 stage-1 grid; V2 keeps round(N / 4P) clusters per part.
    assert int(rows[0][1]) == 16 * 20
    for _, _, off, worst, reassigned in rows:
        assert float(off) == 0 and float(reassigned) == 0 and float(worst) < 1e-9


def test_fidelity_rejects_an_unknown_arch():
    result = run_tool([TOOL, 'v3'], check=False)
    assert result.returncode != 0
    assert "unknown arch 'v3'" in result.stderr and 'Traceback' not in result.stderr
