"""FLOPs counted the papers' way: the rules, Table I / II / IX totals, the CLI and its errors."""
import re

import pytest
from conftest import ROOT, run_tool

from tcformer_mm.analysis.flops import input_hw

CLS = ROOT / 'configs/classification/tcformer'


def _flops_line(stdout):
    return float(re.search(r'Flops: ([\d.]+) GFLOPs', stdout).group(1))


def test_cli_prints_flops_params_and_convention():
    result = run_tool([
        'tools/analysis_tools/get_flops.py',
        str(CLS / 'tcformerv2-tiny_8xb128_in1k.py'), '--shape', '224', '224'
    ])
    assert _flops_line(result.stdout) == 2.50
    assert 'Params: 14.23 M' in result.stdout
    assert 'not counted' in result.stdout  # the MTA convention is stated
    assert 'clustering + merge' in result.stdout
    help_text = run_tool(['tools/analysis_tools/get_flops.py', '--help']).stdout
    assert 'MTA' in help_text and 'NOT counted' in help_text


def _error(args):
    result = run_tool(['tools/analysis_tools/get_flops.py'] + args, check=False)
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_cli_errors():
    assert 'config file not found: configs/no/such.py' in _error(['configs/no/such.py'])
    config = str(CLS / 'tcformerv2-tiny_8xb128_in1k.py')
    line = _error([config, '--cfg-options', 'model.backbone.arch=v9'])
    assert 'cannot build the model' in line and "'v9'" in line
    line = _error([config, '--shape', '16', '16'])
    assert 'too small' in line
    with pytest.raises(ValueError, match='H W or one size'):
        input_hw([1, 2, 3])
