"""The fast token ops against the dense reference that reads like the papers."""
import pytest
import torch
from test_transforms import random_merged

from tcformer_mm.ops import (Clusters, TokenSet, map2token, merge_tokens, reference, token2map,
                             token2token)
from tcformer_mm.ops.clustering import build_clustering

pytestmark = pytest.mark.usefixtures('formulation')


def random_tokens(N=11, map_size=(4, 3), seed=0):
    """Random token sets (2 images, a 9x7 initial grid) with strongly non-uniform aggregation
    weights (0.03 to 3)."""
    tokens = random_merged(B=2, H0=9, W0=7, N=N, C=5, map_size=map_size, seed=seed)
    g = torch.Generator().manual_seed(seed)
    agg = (torch.rand(tokens.agg_weight.shape, generator=g, dtype=torch.float64) * 4.6).exp()
    return tokens.replace(agg_weight=agg * 0.03)


def close(a, b, tol=1e-9):
    torch.testing.assert_close(a, b.to(a.dtype), rtol=tol, atol=tol)


def test_reference_map2token_hand_example():
    # Init grid 2x4; token 0 has cells 0, 1, 4; on a 1x2 map cells 0, 1, 4 lie in pixel 0.
    tokens = TokenSet(x=torch.zeros(1, 3, 1),
                      map_size=(1, 2),
                      init_grid_size=(2, 4),
                      idx_token=torch.tensor([[0, 0, 1, 2, 0, 1, 1, 2]]),
                      agg_weight=torch.tensor([.5, .25, 1., .6, .25, .3, .7, .4]).view(1, 8, 1))
    fmap = torch.tensor([[[[1., 10.]]]])
    out = reference.map2token(fmap, tokens)[0, :, 0]
    # Plain cell means: token 1 has cells 2 (pixel 1), 5 (pixel 0), 6 (pixel 1).
    torch.testing.assert_close(out, torch.tensor([1., 7., 10.]), rtol=1e-5, atol=0)


@pytest.mark.parametrize('map_size', [(4, 3), (9, 7), (2, 5), (12, 10)])
def test_token2map_and_map2token(map_size):
    tokens = random_tokens(map_size=map_size)
    close(token2map(tokens), reference.token2map(tokens))
    fmap = torch.randn(2, 5, *map_size, dtype=torch.float64)
    close(map2token(fmap, tokens), reference.map2token(fmap, tokens))


def test_map2token_ignores_the_aggregation_weights():
    """The released map2token averages a token's cells with weight 1 each: weighting them by
    agg_weight (an earlier version did) changes every merged token."""
    tokens = random_tokens()
    fmap = torch.randn(2, 5, 4, 3, dtype=torch.float64)
    uniform = tokens.replace(agg_weight=torch.ones_like(tokens.agg_weight))
    close(map2token(fmap, tokens), map2token(fmap, uniform), 1e-12)
    close(map2token(fmap, tokens), reference.map2token(fmap, uniform))


def test_token2token():
    source = random_tokens(N=4, seed=1)
    target = random_tokens(N=13, seed=2)
    source = source.replace(idx_token=target.idx_token % 4)  # every source token used
    close(token2token(source, target), reference.token2token(source, target))


@pytest.mark.parametrize('shift', [0., -25., 30.])
def test_merge_is_the_released_eq3(shift):
    """exp(score) / (sum + 1e-6) as released, also where the 1e-6 matters (scores around -25:
    exp(score) ~ 1e-11) and where exp(score) is large."""
    tokens = random_tokens()
    g = torch.Generator().manual_seed(3)
    idx_cluster = torch.randint(0, 4, (2, 11), generator=g)
    idx_cluster[:, :3] = torch.arange(3)  # cluster 3 may be empty
    score = torch.randn(2, 11, 1, generator=g, dtype=torch.float64) * 2 + shift
    fast = merge_tokens(tokens, Clusters(idx_cluster, 4), (2, 2), score=score)
    ref = reference.merge_tokens(tokens, idx_cluster, 4, score, (2, 2))
    close(fast.x, ref.x, 1e-9)
    close(fast.agg_weight, ref.agg_weight, 1e-9)
    assert torch.equal(fast.idx_token, ref.idx_token)
    if shift == -25.:
        # The eps term is of the size of the weights: the merged tokens are visibly shrunk.
        softmax = merge_tokens(tokens, Clusters(idx_cluster, 4), (2, 2), score=score - shift)
        assert (fast.x - softmax.x).abs().max() > 1e-3


def test_merge_score_and_weight_are_exclusive():
    tokens = random_tokens()
    with pytest.raises(ValueError, match='token_weight or score'):
        merge_tokens(tokens,
                     Clusters(torch.zeros(2, 11, dtype=torch.long), 1), (1, 1),
                     token_weight=torch.ones(2, 11, 1),
                     score=torch.zeros(2, 11, 1))


def clustered_features(B, N, C, seed):
    """Features of trained-like variety: a few blobs of different spread, plus noise."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(B, 6, C, generator=g, dtype=torch.float64) * 3
    member = torch.randint(0, 6, (B, N), generator=g)
    spread = torch.rand(B, N, 1, generator=g, dtype=torch.float64) + 0.2
    return torch.gather(
        centres, 1,
        member.unsqueeze(-1).expand(
            B, N, C)) + spread * torch.randn(B, N, C, generator=g, dtype=torch.float64)


@pytest.mark.parametrize('N', [7, 40, 300])
@pytest.mark.parametrize('k', [1, 5])
def test_global_dpc_knn(N, k):
    x = clustered_features(2, N, 16, seed=N)
    M = -(-N // 4)
    fast = build_clustering(dict(type='dpc_knn', k=k))
    tokens = TokenSet.from_grid(x, (1, N))
    clusters = fast(tokens, 1)
    assert clusters.num_clusters == M
    assert torch.equal(clusters.idx, reference.dpc_knn(x, M, k))


@pytest.mark.parametrize('size', [(16, 16), (13, 11), (9, 21)])
@pytest.mark.parametrize('num_parts', [4, 16])
def test_local_dpc_knn(size, num_parts):
    H, W = size
    x = clustered_features(2, H * W, 8, seed=H * W + num_parts)
    tokens = TokenSet.from_grid(x, size)
    fast = build_clustering('dpc_knn')(tokens, num_parts)
    idx_ref, num_ref = reference.local_dpc_knn(tokens, num_parts, 0.25)
    assert fast.num_clusters == num_ref
    assert torch.equal(fast.idx, idx_ref)


def test_local_dpc_knn_on_merged_tokens():
    """Parts of merged tokens come from their cells (the second CTM of V2 clusters 4 parts)."""
    grid = TokenSet.from_grid(clustered_features(2, 16 * 12, 8, seed=5), (16, 12))
    idx, num = reference.local_dpc_knn(grid, 16, 0.25)
    merged = merge_tokens(grid, Clusters(idx, num), (8, 6))
    merged = merged.replace(x=clustered_features(2, num, 8, seed=6))
    fast = build_clustering('dpc_knn')(merged, 4)
    idx_ref, num_ref = reference.local_dpc_knn(merged, 4, 0.25)
    assert fast.num_clusters == num_ref
    assert torch.equal(fast.idx, idx_ref)
