"""tools/analysis_tools/gpu_report.sh end to end on CPU (small sizes): every section runs and
reports what it measured."""
import re

import pytest
from conftest import run_tool


def test_gpu_report_runs_on_cpu(tmp_path):
    out = tmp_path / 'report.txt'
    run_tool([
        'tools/analysis_tools/gpu_report.sh',
        str(out), '--device', 'cpu', '--shape', '64', '64', '--batch-forward', '2', '--batch-train',
        '2', '--det-shape', '96', '160', '--det-batch', '1', '--warmup', '0', '--repeats', '1'
    ])
    text = out.read_text()
    assert 'FAILED' not in text, text
    for title in ('1. Forward throughput', '2. Training step', '3. V2-Small + CR-MTA',
                  '4. Host synchronisation', '5. Top kernels', '6. Eager against compiled'):
        assert f'## {title}' in text
    rows = re.findall(r'^(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+-\s+(\S+)$', text, re.M)
    assert [r[0] for r in rows] == ['v1', 'v2-small', 'pvtv2-b2'] * 2 + ['v2-small+mta-cr'] * 2
    for name, _, ms, images_s, _ in rows:
        batch = 1 if name.endswith('mta-cr') else 2
        assert float(images_s) == pytest.approx(batch / float(ms) * 1000, rel=0.06, abs=0.06)
    assert re.search(r'v2-small forward, 2x3x64x64: \d+ host-sync ops', text)
    assert 'fullgraph=True' in text and 'speed-up' in text
