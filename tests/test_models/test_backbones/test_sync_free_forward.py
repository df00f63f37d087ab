"""The static (sync-free) formulation of whole models: no host synchronisation, the results
of the data-dependent formulation, deterministic algorithms."""
import pytest
import torch

from tcformer_mm.analysis.fidelity import trained_like_
from tcformer_mm.analysis.host_sync import HostSyncCounter
from tcformer_mm.models import MTA, TCFormer
from tcformer_mm.ops.sync_free import ENV_VAR


@pytest.fixture
def static(monkeypatch):
    monkeypatch.setenv(ENV_VAR, '1')


def _loss(outputs):
    return sum(getattr(o, 'x', o).float().square().mean() for o in outputs)


@pytest.mark.parametrize('arch', ['v1', 'v2-small'])
@pytest.mark.parametrize('train', [False, True], ids=['inference', 'training'])
def test_backbone_forward_has_no_host_sync(static, arch, train):
    torch.manual_seed(0)
    model = TCFormer(arch=arch).train(train)
    images = torch.rand(2, 3, 224, 224)
    with torch.set_grad_enabled(train), HostSyncCounter() as syncs:
        outputs = model(images)
        if train:
            _loss(outputs).backward()
    assert syncs.total == 0, syncs.counts


def test_backbone_and_cr_mta_at_detection_size_have_no_host_sync(static):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        TCFormer(arch='v2-small'),
        MTA([64, 128, 320, 512], 256, 5, kv_reduction='cr', add_extra_convs='on_input')).eval()
    with torch.no_grad(), HostSyncCounter() as syncs:
        outputs = model(torch.rand(1, 3, 800, 1344))
    assert syncs.total == 0, syncs.counts
    assert [tuple(o.shape[-2:]) for o in outputs] == [(200, 336), (100, 168), (50, 84), (25, 42),
                                                      (13, 21)]


def test_data_dependent_formulation_does_synchronise(monkeypatch):
    monkeypatch.setenv(ENV_VAR, '0')
    with torch.no_grad(), HostSyncCounter() as syncs:
        TCFormer(arch='v2-tiny').eval()(torch.rand(1, 3, 64, 64))
    assert syncs.total > 0


@pytest.mark.parametrize('arch,size', [('v1', (96, 128)), ('v2-small', (131, 97))])
def test_both_formulations_give_the_same_model_outputs(monkeypatch, arch, size):
    """fp64 and weights like trained ones: the formulations differ only in the order of the
    additions, far below any clustering decision."""
    torch.manual_seed(0)
    model = trained_like_(TCFormer(arch=arch).double().eval())
    images = torch.randn(2, 3, *size, dtype=torch.float64)
    outputs = {}
    for mode in ('0', '1'):
        monkeypatch.setenv(ENV_VAR, mode)
        with torch.no_grad():
            outputs[mode] = model(images)
    for dynamic, static in zip(outputs['0'], outputs['1']):
        assert torch.equal(dynamic.idx_token, static.idx_token)
        torch.testing.assert_close(static.x, dynamic.x, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(static.agg_weight, dynamic.agg_weight, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('mode', ['0', '1'], ids=['data-dependent', 'static'])
def test_deterministic_algorithms(monkeypatch, mode):
    monkeypatch.setenv(ENV_VAR, mode)
    torch.manual_seed(0)
    model = torch.nn.Sequential(TCFormer(arch='v2-tiny'),
                                MTA([64, 128, 320, 512], 32, 4, kv_reduction='cr')).train()
    images = torch.rand(2, 3, 96, 96)
    before = torch.are_deterministic_algorithms_enabled()
    results = []
    try:
        torch.use_deterministic_algorithms(True)
        for _ in range(2):
            model.zero_grad()
            outputs = model(images)
            _loss(outputs).backward()
            results.append(([o.detach().clone() for o in outputs],
                            [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    finally:
        torch.use_deterministic_algorithms(before)
    (out_a, grad_a), (out_b, grad_b) = results
    assert len(grad_a) > 100
    assert all(torch.equal(a, b) for a, b in zip(out_a, out_b))
    assert all(torch.equal(a, b) for a, b in zip(grad_a, grad_b))
