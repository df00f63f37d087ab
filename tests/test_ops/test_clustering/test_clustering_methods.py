import pytest
import torch

from tcformer_mm.ops import CLUSTERING_METHODS, TokenSet, build_clustering, merge_tokens
from tcformer_mm.ops.clustering import DPCKNN, BipartiteSoftMatching, KMeans, TopK, partition_tokens

pytestmark = pytest.mark.usefixtures('formulation')


def tokens_with_score(H0=12, W0=14, B=2, C=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, H0 * W0, C, generator=g)
    score = torch.randn(B, H0 * W0, 1, generator=g)
    return TokenSet.from_grid(x, (H0, W0)).replace(score=score)


def test_build_clustering():
    assert set(CLUSTERING_METHODS) == {'dpc_knn', 'kmeans', 'bsm', 'topk'}
    assert isinstance(build_clustering('dpc_knn'), DPCKNN)
    method = build_clustering(dict(type='dpc_knn', k=3))
    assert isinstance(method, DPCKNN) and method.k == 3
    assert build_clustering(method) is method
    assert isinstance(build_clustering(dict(type='kmeans', num_iters=2)), KMeans)
    assert isinstance(build_clustering('bsm'), BipartiteSoftMatching)
    assert isinstance(build_clustering('topk'), TopK)
    with pytest.raises(ValueError, match="'dpc_knn'.*'kmeans'|valid types"):
        build_clustering('dbscan')
    with pytest.raises(ValueError, match='type'):
        build_clustering(dict(k=5))


@pytest.mark.parametrize('name', ['dpc_knn', 'kmeans', 'bsm', 'topk'])
@pytest.mark.parametrize('num_parts', [1, 4, 16])
def test_cluster_count_ids_and_locality(name, num_parts):
    tokens = tokens_with_score()
    method = build_clustering(name)
    clusters = method(tokens, num_parts)
    idx, num = clusters.idx, clusters.num_clusters
    assert clusters.parts == num_parts
    parts = partition_tokens(tokens, num_parts, 0.25)
    M = parts.num_clusters
    assert num == num_parts * M
    assert idx.shape == (2, 168) and idx.dtype == torch.long
    assert idx.min() >= 0 and idx.max() < num
    assert torch.equal(idx // M, parts.part)  # clusters of its own part only
    if name != 'kmeans':  # k-means may leave a cluster empty (documented)
        for b in range(2):
            assert torch.equal(torch.unique(idx[b]), torch.arange(num))
    again = method(tokens, num_parts).idx
    assert torch.equal(idx, again)


def test_methods_run_on_merged_tokens():
    tokens = tokens_with_score(16, 16)
    clusters = DPCKNN()(tokens, 16)
    num = clusters.num_clusters
    merged = merge_tokens(tokens, clusters, (8, 8))
    assert merged.parts == 16
    merged = merged.replace(score=torch.randn(2, num, 1))
    for name in CLUSTERING_METHODS:
        again = build_clustering(name)(merged, 4)
        assert again.num_clusters == 4 * 4 and again.idx.shape == (2, num)
        assert again.idx.max() < again.num_clusters


def test_topk_centres_are_highest_scores():
    tokens = tokens_with_score(6, 6, B=1)
    clusters = TopK()(tokens, 1)
    idx, num = clusters.idx, clusters.num_clusters
    score = tokens.score[0, :, 0]
    centres = torch.argsort(score, descending=True)[:num]
    assert torch.equal(idx[0, centres], torch.arange(num))
    x = tokens.x[0]
    d = torch.cdist(x, x[centres])
    nearest = d.argmin(1)
    others = torch.ones(36, dtype=torch.bool)
    others[centres] = False
    assert torch.equal(idx[0, others], nearest[others])
    with pytest.raises(ValueError, match='score'):
        TopK()(tokens.replace(score=None), 1)


def test_bsm_merges_most_similar_pairs():
    a, b = torch.tensor([1., 0., 0.]), torch.tensor([0., 1., 0.])
    # Alternating split: A = {0, 2}, B = {1, 3}; 0 matches 1 and 2 matches 3.
    x = torch.stack([a, a + 0.01 * b, b, b + 0.01 * a])[None]
    clusters = BipartiteSoftMatching(ratio=0.5)(TokenSet.from_grid(x, (2, 2)), 1)
    idx, num = clusters.idx, clusters.num_clusters
    assert num == 2 and idx.tolist() == [[0, 0, 1, 1]]


def test_bsm_reaches_m_in_five_steps_and_beyond():
    tokens = tokens_with_score(20, 20, B=1)
    idx = BipartiteSoftMatching()(tokens, 1).idx
    assert torch.equal(torch.unique(idx), torch.arange(100))
    # 400 -> 5 clusters needs more than 5 halvings: extra steps still give exactly M.
    clusters = BipartiteSoftMatching(ratio=5 / 400)(tokens, 1)
    assert clusters.num_clusters == 5 and torch.equal(torch.unique(clusters.idx), torch.arange(5))


def test_kmeans_separates_spatial_blobs():
    # Left half of the map one feature, right half another: 2 clusters split them.
    x = torch.zeros(1, 8, 8, 4)
    x[..., :4, 0] = 5.
    x[..., 4:, 1] = 5.
    x = x + 0.01 * torch.randn(1, 8, 8, 4)
    tokens = TokenSet.from_grid(x.reshape(1, 64, 4), (8, 8))
    clusters = KMeans(ratio=2 / 64)(tokens, 1)
    idx, num = clusters.idx, clusters.num_clusters
    labels = idx.reshape(8, 8)
    assert num == 2
    assert (labels[:, :4] == labels[0, 0]).all() and (labels[:, 4:] == labels[0, 7]).all()
    assert labels[0, 0] != labels[0, 7]


@pytest.mark.parametrize('name', ['dpc_knn', 'kmeans', 'bsm', 'topk'])
def test_autocast_does_not_change_clusters(name):
    tokens = tokens_with_score(10, 10)
    ref = build_clustering(name)(tokens, 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = build_clustering(name)(tokens, 4)
    assert out.num_clusters == ref.num_clusters and torch.equal(out.idx, ref.idx)
