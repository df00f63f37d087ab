import math

import pytest
import torch

from tcformer_mm.ops import TokenSet
from tcformer_mm.ops.clustering import DPCKNN, build_clustering, dpc_knn, dpc_knn_score
from tcformer_mm.ops.clustering.dpc_knn import select_centres

pytestmark = pytest.mark.usefixtures('formulation')


def reference_dpc_knn(x, M, k=5):
    """Unblocked eq. 1-2 on one image with the N x N matrix, in float64 (for the tests)."""
    x = x.double()
    N, C = x.shape
    d = torch.cdist(x, x, compute_mode='donot_use_mm_for_euclid_dist') / math.sqrt(C)
    density = torch.exp(-(d.topk(k, dim=-1, largest=False).values**2).mean(-1))
    idx = torch.arange(N)
    denser = (density[None, :] > density[:, None]) | ((density[None, :] == density[:, None]) &
                                                      (idx[None, :] < idx[:, None]))
    delta = torch.where(denser, d, torch.full_like(d, float('inf'))).amin(-1)
    delta = torch.where(torch.isinf(delta), d.max(), delta)
    score = density * delta
    centres = torch.sort(score, descending=True, stable=True).indices[:M]
    idx_cluster = d[:, centres].argmin(-1)
    idx_cluster[centres] = torch.arange(M)
    return idx_cluster, centres


def blobs(num_blobs=3, per_blob=10, C=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_blobs, C, generator=g) * 20
    x = centres.repeat_interleave(per_blob,
                                  0) + torch.randn(num_blobs * per_blob, C, generator=g) * 0.1
    perm = torch.randperm(num_blobs * per_blob, generator=g)
    return x[perm], torch.arange(num_blobs).repeat_interleave(per_blob)[perm]


def test_well_separated_blobs():
    x, label = blobs()
    idx_cluster = dpc_knn(x[None], 3)[0]
    # Same cluster <=> same blob.
    assert torch.equal(idx_cluster[:, None] == idx_cluster[None], label[:, None] == label[None])
    # Through the TokenSet interface (global: ceil(30 / 10) = 3 clusters with ratio 0.1).
    clusters = DPCKNN(ratio=0.1)(TokenSet.from_grid(x[None], (5, 6)), 1)
    assert clusters.num_clusters == 3 and torch.equal(clusters.idx[0], idx_cluster)


def test_matches_reference():
    x = torch.randn(3, 64, 16)
    idx_cluster = dpc_knn(x, 16)
    score, _ = dpc_knn_score(x)
    for b in range(3):
        ref_idx, ref_centres = reference_dpc_knn(x[b], 16)
        assert torch.equal(select_centres(score, 16)[b], ref_centres)
        assert torch.equal(idx_cluster[b], ref_idx)


def test_exact_ties_are_broken_by_index():
    a, b = torch.zeros(4), torch.ones(4)
    x = torch.stack([a, a, a, b, b, b])[None]
    score, density = dpc_knn_score(x, k=3)
    assert torch.equal(density, torch.ones(1, 6))
    # Token 0 is the densest (lowest index); 1, 2 have denser duplicates at distance 0.
    torch.testing.assert_close(score, torch.tensor([[1., 0., 0., 1., 0., 0.]]))
    assert dpc_knn(x, 2, k=3).tolist() == [[0, 0, 0, 1, 1, 1]]


def test_deterministic_with_duplicates():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(1, 40, 8, generator=g)
    x = torch.cat([base, base, base[:, :10]], dim=1)  # many exact ties
    runs = [DPCKNN()(TokenSet.from_grid(x, (9, 10)), 1).idx for _ in range(3)]
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[0], runs[2])
    local = [DPCKNN()(TokenSet.from_grid(x, (9, 10)), 4).idx for _ in range(2)]
    assert torch.equal(local[0], local[1])


def test_centres_assigned_to_themselves():
    x = torch.randn(2, 100, 4)
    x[:, 50:] = x[:, :50]  # duplicates: a centre ties with its twin
    score, _ = dpc_knn_score(x)
    centres = select_centres(score, 25)
    idx_cluster = dpc_knn(x, 25)
    assert torch.equal(torch.gather(idx_cluster, 1, centres), torch.arange(25).expand(2, 25))


def test_blocked_equals_unblocked():
    x = torch.randn(2, 150, 16)
    valid = torch.ones(2, 150, dtype=torch.bool)
    valid[1, 120:] = False
    for v in (None, valid):
        full = dpc_knn(x, 30, valid=v)
        for block in (1, 1000 * 2 * 4):  # one row / 1000 entries per block
            assert torch.equal(dpc_knn(x, 30, valid=v, max_block_bytes=block), full)
        s_full, d_full = dpc_knn_score(x, valid=v)
        s_one, d_one = dpc_knn_score(x, valid=v, max_block_bytes=1)
        torch.testing.assert_close(s_one, s_full)
        torch.testing.assert_close(d_one, d_full)


def test_local_with_one_part_equals_global():
    x = torch.randn(2, 15 * 17, 8)
    tokens = TokenSet.from_grid(x, (15, 17))
    clusters = build_clustering('dpc_knn')(tokens, 1)
    idx, num = clusters.idx, clusters.num_clusters
    assert num == math.ceil(255 * 0.25)
    assert torch.equal(idx, dpc_knn(x, num))


@pytest.mark.parametrize('where', ['end', 'interleaved'])
def test_padding_never_centre_and_never_changes_real_tokens(where):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 60, 8, generator=g)
    pad = torch.randn(2, 25, 8, generator=g) * 50  # far away: would be centres if real
    if where == 'end':
        padded = torch.cat([x, pad], 1)
        real = torch.arange(85) < 60
    else:
        padded = torch.empty(2, 85, 8)
        real = torch.ones(85, dtype=torch.bool)
        real[torch.arange(25) * 3 + 1] = False
        padded[:, real], padded[:, ~real] = x, pad
    valid = real.expand(2, 85)
    score, density = dpc_knn_score(padded, valid=valid)
    assert torch.isneginf(score[:, ~real]).all() and (density[:, ~real] == -1).all()
    assert (density[:, real] > 0).all()
    ref_score, ref_density = dpc_knn_score(x)
    torch.testing.assert_close(score[:, real], ref_score)
    torch.testing.assert_close(density[:, real], ref_density)
    centres = select_centres(score, 15)
    assert real[centres].all()
    assert torch.equal(dpc_knn(padded, 15, valid=valid)[:, real], dpc_knn(x, 15))


def test_fewer_real_tokens_than_k():
    x = torch.randn(1, 6, 4)
    valid = torch.tensor([[True, True, True, False, False, False]])
    idx = dpc_knn(x, 2, k=5, valid=valid)
    assert torch.equal(idx[:, :3], dpc_knn(x[:, :3], 2, k=5))
    assert set(idx[0, :3].tolist()) == {0, 1}


def test_local_parts_batched_equal_separate_parts():
    """Local clustering of 4 parts equals clustering each part's tokens alone."""
    H0, W0 = 9, 11
    x = torch.randn(1, H0 * W0, 8)
    clusters = build_clustering('dpc_knn')(TokenSet.from_grid(x, (H0, W0)), 4)
    idx, num = clusters.idx, clusters.num_clusters
    M = num // 4
    r, c = torch.meshgrid(torch.arange(H0), torch.arange(W0), indexing='ij')
    part = ((r * 2 // H0) * 2 + c * 2 // W0).flatten()
    for p in range(4):
        sel = part == p
        assert torch.equal(idx[0, sel], dpc_knn(x[:, sel], M)[0] + p * M)


def test_bf16_autocast_input():
    x = torch.randn(1, 64, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        clusters = DPCKNN()(TokenSet.from_grid(x.bfloat16(), (8, 8)), 4)
        idx, num = clusters.idx, clusters.num_clusters
    assert num == 16 and idx.dtype == torch.long
    assert torch.equal(torch.unique(idx), torch.arange(16))


def test_matches_reference_on_long_rows():
    """Rows long enough for the chunked k-smallest search (with a tail past the last chunk)."""
    x = torch.randn(1, 2100, 16, generator=torch.Generator().manual_seed(3))
    ref_idx, ref_centres = reference_dpc_knn(x[0], 525)
    score, _ = dpc_knn_score(x)
    assert torch.equal(select_centres(score, 525)[0], ref_centres)
    assert torch.equal(dpc_knn(x, 525)[0], ref_idx)


@pytest.mark.parametrize('n', [100, 2048, 2100])
def test_smallest_k_and_row_max(n):
    from tcformer_mm.ops.clustering.distance import smallest_k
    d = torch.randn(2, 7, n, generator=torch.Generator().manual_seed(n))
    values, cols, row_max = smallest_k(d, 8, with_max=True)
    ref = d.topk(8, dim=-1, largest=False)
    assert torch.equal(values, ref.values) and torch.equal(cols, ref.indices)
    assert torch.equal(row_max, d.amax(-1))
    assert all(torch.equal(a, b) for a, b in zip(smallest_k(d, 8), (values, cols)))


@pytest.mark.parametrize('copies', [1, 10])
def test_assignment_from_neighbour_lists_equals_exhaustive(copies):
    """dpc_knn assigns a token from its kNN list when the list holds a centre that no unlisted
    centre can tie with, and searches all centres otherwise; the result is the exhaustive
    nearest centre (ties: lowest cluster id)."""
    from tcformer_mm.ops.clustering.dpc_knn import _score
    from tcformer_mm.ops.clustering.search import TokenSearch
    g = torch.Generator().manual_seed(1)
    if copies == 1:
        x = torch.randn(2, 400, 8, generator=g)
    else:
        # Small integers, C = 4 and a zero mean (every point and its negative): the distances
        # are exact, so copies are at distance 0 and tie exactly.
        base = torch.randint(-3, 4, (2, 200 // copies, 4), generator=g).float()
        x = torch.cat([base, -base], dim=1).repeat(1, copies, 1)
    neighbours = TokenSearch(x, static=False)
    score, _ = _score(neighbours, 5)
    centres = select_centres(score, 100)
    exhaustive = TokenSearch(x, static=True).nearest_centre(centres)
    assert torch.equal(neighbours.nearest_centre(centres), exhaustive)
    assert torch.equal(dpc_knn(x, 100), exhaustive)
    is_centre = torch.zeros(2, 400, dtype=torch.bool).scatter_(1, centres, True)
    listed = torch.gather(is_centre, 1, neighbours.nbr_idx.reshape(2, -1)).reshape(2, 400, -1)
    if copies == 1:  # both routes: some lists hold a centre, some do not
        assert 0 < int(listed.any(-1).sum()) < 800
    else:  # every list is 8 of the 10 copies at distance 0, with a centre: an unlisted
        # centre (another copy) could tie, so every token takes the exhaustive search
        assert listed.any(-1).all() and (neighbours.nbr_d2 == 0).all()
