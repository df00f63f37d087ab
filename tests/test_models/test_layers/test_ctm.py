"""CTM: clustering and the eq. 3 merge."""
import math

import torch
from layer_utils import grid_tokens, randomize

from tcformer_mm.models.layers import CTM


def test_ctm_merges_by_eq3_and_keeps_the_score():
    torch.manual_seed(0)
    ctm = randomize(CTM(16, 32, clustering=dict(type='dpc_knn', k=5))).eval()
    tokens = grid_tokens(h=9, w=7, c=16)
    merged, source = ctm(tokens)
    assert merged.num_tokens == math.ceil(63 / 4)
    assert merged.map_size == (5, 4) and merged.score is None
    assert source.x.shape == (2, 63, 32) and source.score.shape == (2, 63, 1)
    clusters = ctm.clustering(source, 1)
    idx, num = clusters.idx, clusters.num_clusters
    # eq. 3 for image 0, from its own cluster assignment.
    weight = source.score.exp()
    w_sum = torch.zeros(num, 1).index_add_(0, idx[0], weight[0])
    expected = torch.zeros(num, 32).index_add_(0, idx[0], source.x[0] * weight[0]) / w_sum
    torch.testing.assert_close(merged.x[0], expected, rtol=1e-4, atol=1e-5)


def test_ctm_merge_weight_cannot_overflow():
    ctm = CTM(16, 32).eval()
    with torch.no_grad():
        ctm.score.bias.fill_(1e4)  # exp(1e4) is inf in any float type
    merged, _ = ctm(grid_tokens(c=16))
    assert torch.isfinite(merged.x).all() and torch.isfinite(merged.agg_weight).all()
