"""A new clustering method is one class and its registration: the model, configs and the FLOPs
counter take it with no edit anywhere else."""
import pytest
import torch

from tcformer_mm.analysis import count_flops
from tcformer_mm.models import TCFormer
from tcformer_mm.ops.clustering import (CLUSTERING_METHODS, ClusteringMethod, build_clustering,
                                        register_clustering)


class FixedGrid(ClusteringMethod):
    """Toy clustering: the real tokens of a part, in token order, cut into M runs of equal
    length. It ignores the features."""

    def cluster_parts(self, tokens, parts):
        count = parts.valid.sum(1, keepdim=True)  # real tokens sit first in every part
        position = torch.arange(parts.valid.shape[1]).unsqueeze(0)
        return (position * parts.num_clusters // count).clamp(max=parts.num_clusters - 1)

    def flops(self, num_tokens, channels, num_parts, num_clusters):
        return 7 * num_tokens  # any figure the counter could not make up


@pytest.fixture
def fixed_grid():
    register_clustering('fixed_grid')(FixedGrid)
    yield FixedGrid
    del CLUSTERING_METHODS['fixed_grid']


def test_toy_method_in_the_model_and_the_flops_counter(fixed_grid):
    cfg = dict(type='fixed_grid', ratio=0.5)
    model = TCFormer(arch='v2-tiny', clustering=cfg).eval()
    ctms = [m for m in model.modules() if hasattr(m, 'clustering')]
    assert len(ctms) == 3 and all(isinstance(m.clustering, FixedGrid) for m in ctms)
    outs = model(torch.rand(1, 3, 64, 64))
    # ratio 0.5 from the config: stage 2 keeps half of stage 1's 256 tokens.
    assert [o.num_tokens for o in outs[:2]] == [256, 128]
    with_toy = count_flops(model, torch.rand(1, 3, 64, 64))
    model.set_clustering(dict(type='dpc_knn', ratio=0.5))
    with_dpc = count_flops(model, torch.rand(1, 3, 64, 64))
    # Only the clustering's cost differs, by the two methods' rules.
    N, C = [256, 128, 64], [128, 320, 512]
    dpc = build_clustering(dict(type='dpc_knn'))
    expected = sum(7 * n - dpc.flops(n, c, p, 0) for n, c, p in zip(N, C, (16, 4, 1)))
    assert with_toy.flops - with_dpc.flops == expected


def test_unknown_type_lists_the_new_method(fixed_grid):
    with pytest.raises(ValueError, match="'fixed_grid'"):
        build_clustering('fixed_gird')
    assert isinstance(build_clustering('fixed_grid'), FixedGrid)
    with pytest.raises(ValueError, match='already registered'):
        register_clustering('fixed_grid')(FixedGrid)
