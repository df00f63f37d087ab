"""Coalescing cells into distinct pairs with static sizes, and their bag sums."""
import pytest
import torch

from tcformer_mm.analysis.host_sync import HostSyncCounter
from tcformer_mm.ops.pair_sums import coalesce

# Five cells: target 0 <- source 2 (twice); target 1 <- source 0 (twice) and source 1.
TARGET = torch.tensor([1, 0, 1, 0, 1])
SOURCE = torch.tensor([0, 2, 1, 2, 0])


def _dense(target, source, weight, num_targets, num_sources):
    """The (T, S) matrix of the per-cell sums: entry (t, s) sums the weights of its cells."""
    return torch.zeros(num_targets, num_sources, dtype=weight.dtype).index_put_((target, source),
                                                                                weight,
                                                                                accumulate=True)


def test_coalesce_hand_example():
    pairs = coalesce(TARGET, SOURCE, 2, 3, weight=torch.tensor([1., 2., 3., 4., 5.]))
    by_target = pairs.by_target
    # Three pairs, grouped by target, then two of padding (target T = 2, weight 0).
    assert by_target.bag.tolist() == [0, 1, 1, 2, 2]
    assert by_target.index[:3].tolist() == [2, 0, 1]
    assert by_target.weight.tolist() == [2, 2, 1, 0, 0]  # cells per pair
    assert by_target.offsets.tolist() == [0, 1, 3]
    assert pairs.weight.tolist() == [6., 6., 3., 0., 0.]
    assert int(pairs.num_pairs) == 3
    # Grouped by source: source 0 <- target 1, source 1 <- target 1, source 2 <- target 0.
    by_source = pairs.by_source
    assert by_source.bag.tolist() == [0, 1, 2, 3, 3]
    assert by_source.index[:3].tolist() == [1, 1, 0]
    assert by_source.offsets.tolist() == [0, 1, 2, 3]
    assert pairs.order[:3].tolist() == [1, 2, 0]


def test_sums_equal_the_dense_product_and_their_gradient_its_transpose():
    g = torch.Generator().manual_seed(0)
    L, T, S, C = 200, 17, 23, 5
    target = torch.randint(0, T - 1, (L, ), generator=g)  # target T - 1 stays empty
    source = torch.randint(0, S, (L, ), generator=g)
    weight = torch.rand(L, generator=g, dtype=torch.float64) + 0.1
    pairs = coalesce(target, source, T, S, weight)
    assert int(pairs.num_pairs) == len(set(zip(target.tolist(), source.tolist())))
    dense = _dense(target, source, weight, T, S)
    rows = torch.randn(S, C, generator=g, dtype=torch.float64, requires_grad=True)
    sums = pairs.sums(pairs.weight)
    out = sums(rows)
    torch.testing.assert_close(out, dense @ rows)
    assert out[T - 1].abs().max() == 0
    grad = torch.randn(T, C, generator=g, dtype=torch.float64)
    (rows_grad, ) = torch.autograd.grad(out, rows, grad)
    torch.testing.assert_close(rows_grad, dense.T @ grad)
    transposed = pairs.transposed_sums(pairs.weight)
    torch.testing.assert_close(transposed(grad), dense.T @ grad)
    assert torch.autograd.gradcheck(sums, (rows, ))
    assert torch.autograd.gradgradcheck(sums, (rows, ))


def test_padding_is_never_read():
    """Rows that no pair reads may hold anything, NaN included: the padding (which points at
    row 0 with weight 0) lies past the last offset, in both directions."""
    pairs = coalesce(torch.tensor([1, 1, 2]), torch.tensor([1, 2, 1]), 3, 3)  # 0 reads nothing
    weight = pairs.by_target.weight.float()
    rows = torch.arange(6.).reshape(3, 2)
    rows[0] = float('nan')
    out = pairs.sums(weight)(rows)
    torch.testing.assert_close(out, torch.tensor([[0., 0.], [6., 8.], [2., 3.]]))
    out = pairs.transposed_sums(weight)(rows)
    torch.testing.assert_close(out, torch.tensor([[0., 0.], [6., 8.], [2., 3.]]))


@pytest.mark.parametrize('traced', [False, True])
def test_traced_sums_equal_eager(traced):
    """Traced (ONNX), the sums are a gather and an index_add over the padded pairs."""
    pairs = coalesce(TARGET, SOURCE, 2, 3, weight=torch.tensor([1., 2., 3., 4., 5.]))
    sums = pairs.sums(pairs.weight)
    rows = torch.randn(3, 4)
    if traced:

        def run(rows):
            return sums(rows)

        out = torch.jit.trace(run, (rows, ))(rows)
    else:
        out = sums(rows)
    torch.testing.assert_close(
        out,
        _dense(TARGET, SOURCE, torch.tensor([1., 2., 3., 4., 5.]), 2, 3) @ rows)


def test_no_host_sync_forward_and_backward():
    rows = torch.randn(3, 4, requires_grad=True)
    with HostSyncCounter() as syncs:
        pairs = coalesce(TARGET, SOURCE, 2, 3, weight=torch.rand(5))
        pairs.sums(pairs.weight)(rows).square().sum().backward()
    assert syncs.total == 0
    assert rows.grad is not None
