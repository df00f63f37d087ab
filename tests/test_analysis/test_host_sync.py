"""HostSyncCounter and tools/analysis_tools/host_syncs.py."""
import re

import torch
from conftest import run_tool

from tcformer_mm.analysis.host_sync import HostSyncCounter


def test_counts_each_kind_of_sync():
    t = torch.rand(10)
    with HostSyncCounter(package='') as syncs:
        t.sum().item()
        bool(t.sum() > 0)
        t[t > 0.5]
        torch.nonzero(t)
        torch.unique(t)
        torch.bincount(torch.tensor([1, 2]))
        # What must not count: static-shape ops.
        t.topk(3), t.sort(), t.cumsum(0), t.index_select(0, torch.tensor([0, 1]))
    assert syncs.by_op() == {
        'aten._local_scalar_dense': 2,
        'index (bool mask)': 1,
        'aten.nonzero': 1,
        'aten._unique2': 1,
        'aten.bincount': 1
    }
    assert syncs.total == 6


def test_call_sites_are_inside_the_package():
    from tcformer_mm.ops import TokenSet, build_clustering, token_map_pairs
    tokens = TokenSet.from_grid(torch.rand(1, 64, 8), (8, 8))
    with HostSyncCounter() as syncs:
        build_clustering('dpc_knn')(tokens, 1)  # the CPU's data-dependent search
    assert syncs.total > 0
    assert all(site.startswith('ops/clustering/') for _, site in syncs.counts)
    # The transforms coalesce their pairs with static sizes, on every device.
    with HostSyncCounter() as syncs:
        token_map_pairs(tokens, (4, 4))
    assert syncs.total == 0


def test_tool_prints_the_counts():
    out = run_tool(['tools/analysis_tools/host_syncs.py', 'v2-tiny', '--shape', '64', '64']).stdout
    total = int(re.search(r'inference: (\d+) host-sync ops', out)[1])
    per_op_lines = out.split('host-sync ops\n', 1)[1].split('by call site:')[0].splitlines()
    per_op = [int(line.split()[0]) for line in per_op_lines]
    assert total > 0 and sum(per_op) == total
    assert 'ops/clustering/search.py:' in out and 'ops/transforms.py:' not in out


def test_tool_static_training_step_with_a_neck():
    out = run_tool([
        'tools/analysis_tools/host_syncs.py', 'v2-tiny+mta-cr', '--shape', '64', '96', '--batch',
        '1', '--train', '--static'
    ]).stdout
    assert ('v2-tiny+mta-cr, 64x96, batch 1, training step (forward + backward), static '
            'formulation: 0 host-sync ops') in out
