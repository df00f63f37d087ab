"""tools/analysis_tools/op_counts.py prints the counts the counter gives."""
import re

import torch
from conftest import run_tool

from tcformer_mm.analysis import speed
from tcformer_mm.analysis.op_count import count_forward_ops


def test_op_counts_tool_matches_the_counter():
    out = run_tool(
        ['tools/analysis_tools/op_counts.py', 'v2-tiny', 'pvtv2-b0', '--shape', '64', '64']).stdout
    rows = dict((m, (int(s), int(d)))
                for m, s, d in re.findall(r'^(\S+)\s+64x64\s+(\d+)\s+(\d+)$', out, re.M))
    assert set(rows) == {'v2-tiny', 'pvtv2-b0'}
    model = speed.build_model('v2-tiny')
    assert rows['v2-tiny'][0] == count_forward_ops(model, torch.rand(1, 3, 64, 64), True).total
    # PVTv2 has no token ops: one formulation.
    assert rows['pvtv2-b0'][0] == rows['pvtv2-b0'][1]
    out = run_tool(
        ['tools/analysis_tools/op_counts.py', 'v2-tiny', '--shape', '64', '64', '--sites',
         '3']).stdout
    sites = re.findall(r'^\s+(\d+)\s+(\S+\.py:\w+)$', out, re.M)
    assert len(sites) == 3 and int(sites[0][0]) >= int(sites[2][0]) > 0
