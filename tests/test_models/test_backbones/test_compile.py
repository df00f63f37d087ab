"""``torch.compile(fullgraph=True)`` of the backbone and the CR-MTA neck (aot_eager on CPU: the
graph dynamo captures, run by eager kernels; one inductor case), against the eager model."""
import pytest
import torch

from tcformer_mm.models import MTA, TCFormer
from tcformer_mm.ops.sync_free import ENV_VAR


@pytest.fixture
def static(monkeypatch):
    """The eager reference in the formulation the graph captures."""
    monkeypatch.setenv(ENV_VAR, '1')


def _assert_same(compiled, eager):
    assert len(compiled) == len(eager)
    for c, e in zip(compiled, eager):
        c, e = getattr(c, 'x', c), getattr(e, 'x', e)
        torch.testing.assert_close(c, e, rtol=1e-5, atol=1e-5)


def _compile_and_compare(model, images):
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, dynamic=False, backend='aot_eager')
    with torch.no_grad():
        _assert_same(compiled(images), model(images))


@pytest.mark.parametrize('arch,size', [('v1', (224, 224)), ('v2-small', (224, 224)),
                                       ('v2-small', (512, 512)), ('v2-small', (131, 97))])
def test_backbone_compiles_as_one_graph(static, arch, size):
    torch.manual_seed(0)
    _compile_and_compare(TCFormer(arch=arch).eval(), torch.rand(1, 3, *size))


def test_backbone_and_cr_mta_compile_as_one_graph(static):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        TCFormer(arch='v2-small'),
        MTA([64, 128, 320, 512], 256, 5, kv_reduction='cr', add_extra_convs='on_input')).eval()
    _compile_and_compare(model, torch.rand(1, 3, 320, 544))


def test_compile_option_of_the_backbone(static):
    torch.manual_seed(0)
    eager = TCFormer(arch='v2-tiny').train()
    compiled = TCFormer(arch='v2-tiny', compile=dict(backend='aot_eager')).train()
    compiled.load_state_dict(eager.state_dict())
    images = torch.rand(2, 3, 96, 128)
    grads = []
    for model in (compiled, eager):
        outputs = model(images)
        sum(o.x.square().mean() for o in outputs).backward()
        grads.append([p.grad for p in model.parameters()])
    _assert_same(compiled(images), eager(images))
    for c, e in zip(*grads):
        torch.testing.assert_close(c, e, rtol=1e-4, atol=1e-6)
    # The input checks stay outside the graph: their messages are unchanged.
    with pytest.raises(ValueError, match='expected images of shape'):
        compiled(images[0])


def test_inductor_with_cuda_graph_mode_matches_eager(static):
    """``mode='reduce-overhead'`` (CUDA graphs on a GPU) compiles with inductor's C++ backend;
    on CPU torch captures no graph, so this checks what it can: one graph, same outputs."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    eager = TCFormer(arch='v2-tiny').eval()
    compiled = TCFormer(arch='v2-tiny', compile=dict(mode='reduce-overhead')).eval()
    compiled.load_state_dict(eager.state_dict())
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        _assert_same(compiled(images), eager(images))


@pytest.mark.parametrize('value,error', [('yes', TypeError), (dict(fullgraph=False), ValueError)])
def test_compile_option_errors(value, error):
    with pytest.raises(error, match='TCFormer: compile'):
        TCFormer(arch='v2-tiny', compile=value)
