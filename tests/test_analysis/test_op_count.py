import os

import torch

from tcformer_mm.analysis.op_count import AtenOpCounter, count_forward_ops
from tcformer_mm.models import TCFormer
from tcformer_mm.ops.sync_free import ENV_VAR


def test_views_and_detaches_are_free():
    x = torch.rand(4, 6)
    with AtenOpCounter() as ops:
        y = x.view(6, 4).t().unsqueeze(0)[:, 1:].detach()
        y.add(1).exp()
        torch.promote_types(y.dtype, torch.float64)
    assert ops.total == 2 and dict(ops.counts) == {'aten.add': 1, 'aten.exp': 1}


def test_static_formulation_op_count_does_not_depend_on_the_data(monkeypatch):
    """The static formulation's sizes, and so its ops, follow from the input shape alone; the
    data-dependent one searches as many tokens exhaustively as their neighbour lists leave."""
    monkeypatch.setenv(ENV_VAR, '0')
    model = TCFormer(arch='v2-tiny').eval()
    torch.manual_seed(0)
    images = [torch.rand(1, 3, 64, 64), torch.zeros(1, 3, 64, 64)]
    static = [count_forward_ops(model, x, static=True).total for x in images]
    assert static[0] == static[1] > 0
    assert os.environ[ENV_VAR] == '0'  # restored
    dynamic = [count_forward_ops(model, x, static=False) for x in images]
    assert all(d.total > 0 for d in dynamic)
    # Only the data-dependent formulation reads values back (a host sync per read).
    assert 'aten._local_scalar_dense' in dynamic[0].counts
    assert 'aten._local_scalar_dense' not in count_forward_ops(model, images[0], static=True).counts


def test_static_v2_small_launches_at_most_half_again_pvtv2_b2():
    """The static formulation's ops per forward (a GPU's kernel launches at small batch) stay
    within 1.5x mmdet's PVTv2-B2 at 224x224, and do not grow with the input where no memory
    bound splits the search."""
    from mmengine.logging import MMLogger

    from tcformer_mm.analysis import speed
    MMLogger.get_current_instance().setLevel('WARNING')
    torch.manual_seed(0)
    images = torch.rand(1, 3, 224, 224)
    pvt = count_forward_ops(speed.build_model('pvtv2-b2'), images).total
    model = speed.build_model('v2-small')
    ops = count_forward_ops(model, images, static=True).total
    assert ops <= 1.5 * pvt, (ops, pvt)
    assert count_forward_ops(model, torch.rand(1, 3, 320, 448), static=True).total == ops


def test_ops_by_call_site_add_up():
    model = TCFormer(arch='v2-tiny').eval()
    ops = count_forward_ops(model, torch.rand(1, 3, 64, 64), static=True, by_site=True)
    assert sum(ops.sites.values()) == ops.total
    assert ops.sites['pair_sums.py:coalesce'] > 0 and ops.sites['attention.py:attend'] > 0
    assert not any(site.startswith('op_count.py') for site in ops.sites)
