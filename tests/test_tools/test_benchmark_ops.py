"""tools/analysis_tools/benchmark_ops.py: one row per token operation, on the model's tokens."""
import re

import torch
from conftest import run_tool

from tcformer_mm.models import TCFormer
from tcformer_mm.ops import token_map_pairs


def test_benchmark_ops_rows_describe_the_models_token_sets():
    out = run_tool([
        'tools/analysis_tools/benchmark_ops.py', 'v2-tiny', '--shape', '64', '64', '--warmup', '0',
        '--repeats', '1'
    ]).stdout
    rows = {
        m[1].strip(): (m[2].strip(), float(m[3]))
        for m in re.finditer(r'^(\S.{29})(.{44})\s*([\d.]+)$', out, re.M)
    }
    torch.manual_seed(0)
    stages = TCFormer(arch='v2-tiny').eval()(torch.randn(1, 3, 64, 64))
    # CTM i clusters stage i's tokens at stage i+1's width, in the arch's parts.
    assert rows['ctm1 clustering'][0] == 'N=256, C=128, parts=16'
    assert rows['ctm2 clustering'][0] == f'N={stages[1].num_tokens}, C=320, parts=4'
    assert rows['ctm3 clustering'][0] == f'N={stages[2].num_tokens}, C=512, parts=1'
    for i, hidden in ((2, 1024), (3, 1280), (4, 2048)):
        tokens = stages[i - 1]
        shape = f'N={tokens.num_tokens}, map={tokens.map_size}, C={hidden}'
        assert rows[f'stage {i} token2map'][0] == shape
        assert rows[f'stage {i} map2token'][0] == shape
        num_pairs = int(token_map_pairs(tokens).num_pairs)
        assert rows[f'stage {i} token_map_pairs'][0] == f'P={num_pairs}'
        assert f'stage {i} -> {i - 1} token2token' in rows
    assert len(rows) == 15


def test_benchmark_ops_rejects_a_too_small_input():
    result = run_tool(['tools/analysis_tools/benchmark_ops.py', 'v1', '--shape', '16', '16'],
                      check=False)
    assert result.returncode != 0 and 'too small' in result.stderr
    assert 'Traceback' not in result.stderr
