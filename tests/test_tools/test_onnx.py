"""ONNX export of TCFormer backbones and a classifier, checked against onnxruntime."""

import onnx
import pytest
import torch
from conftest import load_script, run_tool

from tcformer_mm.models import TCFormer

TINY_CONFIG = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'


@pytest.mark.parametrize(
    'arch,shape',
    [
        ('v2-tiny', (64, 80)),  # local DPC-kNN: 16, 4, 1 parts
        ('v1-light', (72, 64)),  # global DPC-kNN
    ])
def test_backbone_matches_onnxruntime(arch, shape, tmp_path):
    tool = load_script('tools/deployment/pytorch2onnx.py')
    torch.manual_seed(0)
    model = TCFormer(arch=arch, output_format='maps')
    model.init_weights()
    model.eval()
    out = str(tmp_path / f'{arch}.onnx')
    x = tool.export(model, shape, out, whole_model=False)
    graph = onnx.load(out).graph
    # The transforms and merges are scatters, not sparse products; no shape-changing If.
    ops = {node.op_type for node in graph.node}
    assert 'ScatterElements' in ops and 'TopK' in ops and 'If' not in ops
    assert len(graph.output) == 4
    # Two inputs, the second not the traced one: a graph with sizes baked in by the trace
    # (token pairs, tokens without a denser neighbour) would fail on it.
    errors = tool.verify(model, out, x, whole_model=False)
    assert len(errors) == 8 and max(errors) <= 1e-4
    # The check can fail: change a weight after the export.
    with torch.no_grad():
        model.stages[3].norm.bias.add_(0.01)
    with pytest.raises(AssertionError, match='output 3 differs from PyTorch by'):
        tool.verify(model, out, x, whole_model=False)


def test_classifier_export_tool(tmp_path):
    out = tmp_path / 'cls.onnx'
    result = run_tool([
        'tools/deployment/pytorch2onnx.py', TINY_CONFIG, '--shape', '64', '64', '--out',
        str(out), '--verify'
    ])
    assert 'onnxruntime matches PyTorch on 2 inputs' in result.stdout
    graph = onnx.load(str(out)).graph
    # The whole classifier: one output, the 4 class scores of the tiny config.
    assert len(graph.output) == 1
    dims = [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 4]


def test_export_errors_are_named(tmp_path):
    result = run_tool([
        'tools/deployment/pytorch2onnx.py', TINY_CONFIG, '--shape', '16', '16', '--out',
        str(tmp_path / 'x.onnx')
    ],
                      check=False)
    assert result.returncode != 0
    assert '--shape 16 16 is too small: stage 1 works on a 4x4 token map' in result.stderr
    result = run_tool([
        'tools/deployment/pytorch2onnx.py', TINY_CONFIG,
        str(tmp_path / 'missing.pth'), '--out',
        str(tmp_path / 'x.onnx')
    ],
                      check=False)
    assert result.returncode != 0
    assert f'checkpoint file not found: {tmp_path / "missing.pth"}' in result.stderr
