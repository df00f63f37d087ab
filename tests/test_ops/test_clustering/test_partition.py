import pytest
import torch

from tcformer_mm.ops import TokenSet, merge_tokens
from tcformer_mm.ops.clustering import build_clustering, partition_tokens
from tcformer_mm.ops.clustering.partition import cell_part_index, clusters_per_part

pytestmark = pytest.mark.usefixtures('formulation')


def grid_tokens(H0, W0, B=2, C=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return TokenSet.from_grid(torch.randn(B, H0 * W0, C, generator=g), (H0, W0))


def test_cell_part_index_floor_split():
    parts = cell_part_index((9, 9), 16).reshape(9, 9)
    # floor(r * 4 / 9): rows 0-2 -> 0, 3-4 -> 1, 5-6 -> 2, 7-8 -> 3.
    assert parts[:, 0].tolist() == [0, 0, 0, 4, 4, 8, 8, 12, 12]
    assert parts[0].tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match='perfect square'):
        cell_part_index((9, 9), 8)


@pytest.mark.parametrize('size', [(9, 9), (28, 35), (50, 84)])
def test_parts_nest(size):
    p16 = cell_part_index(size, 16)
    p4 = cell_part_index(size, 4)
    # Window (i, j) of the 4x4 split lies in window (i // 2, j // 2) of the 2x2 split.
    assert torch.equal((p16 // 4 // 2) * 2 + (p16 % 4) // 2, p4)
    counts = torch.bincount(p16, minlength=16)
    assert counts.min() > 0


def test_partition_layout():
    tokens = grid_tokens(5, 7)
    parts = partition_tokens(tokens, 4, 0.25)
    B, N, C = tokens.x.shape
    # rows 0-2 / 3-4, cols 0-3 / 4-6 -> part sizes 12, 9, 8, 6.
    assert parts.x.shape == (B * 4, 12, C)
    assert parts.valid.sum(1).tolist() == [12, 9, 8, 6] * 2
    # Real tokens first in every part, in token order.
    for row in parts.valid:
        n = int(row.sum())
        assert row[:n].all() and not row[n:].any()
    flat = parts.x.reshape(-1, C)
    assert torch.equal(flat[parts.index.reshape(-1)], tokens.x.reshape(-1, C))
    part_of_cell = cell_part_index((5, 7), 4)
    assert torch.equal(parts.part, part_of_cell.expand(B, -1))
    # M = round(35 * 0.25 / 4) = round(2.19) = 2; part-major ids after scatter_back.
    assert parts.num_clusters == 2
    local = torch.zeros(B * 4, 12, dtype=torch.long)
    assert torch.equal(parts.scatter_back(local), parts.part * 2)


def test_clusters_per_part():
    assert clusters_per_part(3136, 1, 0.25, 3136) == 784
    assert clusters_per_part(3137, 1, 0.25, 3137) == 785  # ceil as the released global CTM
    assert clusters_per_part(3136, 16, 0.25, 196) == 49
    assert clusters_per_part(81, 16, 0.25, 4) == 1  # round(1.27)
    assert clusters_per_part(100, 4, 1.0, 20) == 20  # clamped to the smallest part
    assert clusters_per_part(10, 16, 0.25, 1) == 1  # at least one


def test_too_small_map_raises():
    with pytest.raises(ValueError, match='3x5.*16 parts'):
        partition_tokens(grid_tokens(3, 5), 16, 0.25)
    build_clustering('dpc_knn')(grid_tokens(4, 4), 16)  # 4x4 is just large enough


@pytest.mark.parametrize('size', [(9, 9), (28, 35), (50, 84)])
@pytest.mark.parametrize('method', ['dpc_knn', 'bsm'])
def test_local_ctm_chain_16_4_1(size, method):
    """Three local CTMs (16, 4, 1 parts): clusters never cross the windows of their CTM."""
    tokens = grid_tokens(*size, C=6)
    cluster = build_clustering(method)
    for num_parts in (16, 4, 1):
        N = tokens.num_tokens
        clusters = cluster(tokens, num_parts)
        idx_cluster, num_clusters = clusters.idx, clusters.num_clusters
        parts = partition_tokens(tokens, num_parts, 0.25)
        M = parts.num_clusters
        assert num_clusters == num_parts * M
        # Each part's tokens only go to the clusters of their own part ...
        assert torch.equal(idx_cluster // M, parts.part)
        # ... and every part uses exactly M clusters.
        for b in range(tokens.x.shape[0]):
            assert len(torch.unique(idx_cluster[b])) == num_clusters
        if num_parts == 1:
            assert num_clusters == -(-N // 4)
        tokens = merge_tokens(tokens, clusters, tokens.map_size)
        # All cells of a merged token lie in one window of this CTM's split.
        cell_part = cell_part_index(size, num_parts).expand_as(tokens.idx_token)
        lo = torch.full((2, num_clusters), 99).scatter_reduce(1, tokens.idx_token, cell_part,
                                                              'amin')
        hi = torch.full((2, num_clusters), -1).scatter_reduce(1, tokens.idx_token, cell_part,
                                                              'amax')
        assert torch.equal(lo, hi)


def _general_layout(tokens, num_parts):
    """The partition that sorts and pads, whatever the layout (``parts`` forgotten)."""
    from tcformer_mm.ops.clustering import partition
    layout = partition._window_layout
    try:
        partition._window_layout = lambda tokens, P: None
        return partition_tokens(tokens, num_parts, 0.25)
    finally:
        partition._window_layout = layout


@pytest.mark.parametrize('size,num_parts', [((8, 12), 16), ((8, 12), 4), ((6, 10), 1)])
def test_window_layout_is_the_sorted_layout(size, num_parts):
    """Where the windows divide the grid, or the tokens are part-major in nested windows, the
    partition is a reshape and permutation: the same parts, slots and ids as sorting gives."""
    tokens = grid_tokens(*size)
    cluster = build_clustering('dpc_knn')
    if num_parts < 16:
        # Tokens a 16-part CTM left part-major.
        tokens = merge_tokens(tokens, cluster(tokens, 16), tokens.map_size)
        assert tokens.parts == 16
    parts = partition_tokens(tokens, num_parts, 0.25)
    assert parts.windows is not None and not parts.padded
    general = _general_layout(tokens, num_parts)
    assert general.windows is None and not general.padded
    assert torch.equal(parts.x, general.x)
    assert torch.equal(parts.index, general.index)
    assert torch.equal(parts.part, general.part)
    assert parts.num_clusters == general.num_clusters
    local = torch.randint(0, parts.num_clusters, parts.valid.shape)
    assert torch.equal(parts.scatter_back(local), general.scatter_back(local))
    score = torch.randn(*tokens.x.shape[:2], 1)
    assert torch.equal(parts.gather(score), general.gather(score))


def test_uneven_windows_take_the_sorted_layout():
    assert partition_tokens(grid_tokens(9, 12), 16, 0.25).windows is None
