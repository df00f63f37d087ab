"""Index tensors made once per shape and device, except inside a trace or capture."""
import torch

from tcformer_mm.ops import shape_constants
from tcformer_mm.ops.token_set import grid_to_map_index


def test_made_once_per_shape():
    a = shape_constants.batch_offsets(3, 5, device='cpu')
    assert a.tolist() == [[0], [5], [10]]
    assert shape_constants.batch_offsets(3, 5, device=torch.device('cpu')) is a
    assert shape_constants.batch_offsets(3, 6, device='cpu') is not a
    g = grid_to_map_index((4, 6), (2, 3))
    assert g is grid_to_map_index((4, 6), (2, 3))
    assert g.tolist() == [0, 0, 1, 1, 2, 2] * 2 + [3, 3, 4, 4, 5, 5] * 2
    assert shape_constants.ranks(2, 3, device='cpu').tolist() == [[0, 1, 2]] * 2


def test_made_in_inference_mode_serves_training():
    shape_constants.arange.cache_clear()
    with torch.inference_mode():
        index = shape_constants.arange(4, device='cpu')
    assert not index.is_inference()
    rows = torch.randn(5, 2, requires_grad=True)
    rows.index_select(0, shape_constants.arange(4, device='cpu')).sum().backward()
    assert rows.grad[:4].eq(1).all() and rows.grad[4].eq(0).all()


def test_traced_graphs_make_their_own():
    shape_constants.arange(7, device='cpu')  # cached outside the trace

    def f(x):
        return x + shape_constants.arange(7, device=x.device)

    graph = str(torch.jit.trace(f, torch.zeros(7)).graph)
    assert 'aten::arange' in graph
