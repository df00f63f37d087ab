"""The choice of formulation, and what the static formulation guarantees beyond equal results
(those are checked by every op test, which runs in both formulations)."""
import pytest
import torch

from tcformer_mm.analysis.host_sync import HostSyncCounter
from tcformer_mm.ops import TokenSet, build_clustering, map2token, token2map, token_map_pairs
from tcformer_mm.ops.clustering.distance import full_fp32
from tcformer_mm.ops.clustering.partition import (_part_from_cells, _static_layout,
                                                  partition_tokens, window_sizes)
from tcformer_mm.ops.sync_free import ENV_VAR, sync_free
from tcformer_mm.ops.transforms import merge_tokens

pytestmark = pytest.mark.usefixtures('formulation')


def test_choice_by_device_and_variable(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert not sync_free(torch.device('cpu'))
    assert sync_free(torch.device('meta')) and sync_free('cuda')
    monkeypatch.setenv(ENV_VAR, '1')
    assert sync_free(torch.device('cpu'))
    monkeypatch.setenv(ENV_VAR, '0')
    assert not sync_free('cuda')
    monkeypatch.setenv(ENV_VAR, 'yes')
    with pytest.raises(ValueError, match='TCFORMER_SYNC_FREE must be 0 or 1, got .yes.'):
        sync_free('cpu')


def test_graph_capture_is_always_static(formulation):
    seen = []

    def probe(x):
        seen.append(sync_free(x.device))
        return x + 1

    torch.compile(probe, backend='eager', fullgraph=True)(torch.zeros(2))
    assert seen == [True]


def test_full_fp32_turns_tf32_off_and_restores_it():
    matmul = torch.backends.cuda.matmul
    before = matmul.allow_tf32
    try:
        matmul.allow_tf32 = True
        with full_fp32():
            assert matmul.allow_tf32 is False
        assert matmul.allow_tf32 is True
        with pytest.raises(RuntimeError), full_fp32():
            raise RuntimeError('inside')
        assert matmul.allow_tf32 is True
    finally:
        matmul.allow_tf32 = before


def ctm_like_tokens(H0=16, W0=12, B=2, C=8, num_parts=16, seed=0):
    """Grid tokens clustered locally in ``num_parts`` parts and merged, as a CTM leaves them."""
    g = torch.Generator().manual_seed(seed)
    grid = TokenSet.from_grid(torch.randn(B, H0 * W0, C, generator=g), (H0, W0))
    grid = grid.replace(score=torch.randn(B, H0 * W0, 1, generator=g))
    clusters = build_clustering('dpc_knn')(grid, num_parts)
    merged = merge_tokens(grid, clusters, (H0 // 2, W0 // 2), score=grid.score)
    return merged.replace(parts=num_parts)


@pytest.mark.parametrize('num_parts,next_parts', [(16, 4), (16, 16), (4, 1), (16, 1)])
def test_part_layout_from_shapes_equals_part_from_cells(num_parts, next_parts):
    tokens = ctm_like_tokens(num_parts=num_parts)
    parts = partition_tokens(tokens, next_parts, 0.25)
    assert parts.windows is not None and not parts.padded
    assert torch.equal(parts.part, _part_from_cells(tokens, next_parts))
    assert parts.x.shape[1] == tokens.num_tokens // next_parts


def test_part_layout_of_grid_tokens():
    grid = TokenSet.from_grid(torch.randn(1, 13 * 10, 4), (13, 10))
    part, smallest, largest = _static_layout(grid, 16)
    assert torch.equal(part, _part_from_cells(grid, 16))
    counts = torch.bincount(part[0], minlength=16)
    assert (smallest, largest) == (int(counts.min()), int(counts.max()))
    assert window_sizes(13, 4) == [4, 3, 3, 3] and window_sizes(10, 4) == [3, 2, 3, 2]


def test_unknown_layout_is_read_off_the_cells():
    tokens = ctm_like_tokens(num_parts=4).replace(parts=None)
    assert _static_layout(tokens, 4) is None
    parts = partition_tokens(tokens, 4, 0.25)
    assert torch.equal(parts.part, _part_from_cells(tokens, 4))


@pytest.mark.parametrize('num_parts', [1, 4, 16])
def test_static_ops_do_not_synchronise(monkeypatch, num_parts):
    monkeypatch.setenv(ENV_VAR, '1')
    tokens = ctm_like_tokens(num_parts=16).replace(score=None)
    tokens = tokens.replace(score=torch.randn(tokens.x.shape[:2] + (1, )))
    with HostSyncCounter() as syncs:
        pairs = token_map_pairs(tokens)
        fmap = token2map(tokens, pairs=pairs)
        map2token(fmap, tokens, pairs=pairs)
        clusters = build_clustering('dpc_knn')(tokens, num_parts if num_parts < 16 else 4)
        merge_tokens(tokens, clusters, (4, 3), score=tokens.score)
    assert syncs.total == 0, syncs.counts


def blob_tokens(dtype, num_blobs=6, per_blob=16, C=16, seed=0):
    """Tokens of well-separated feature blobs on a 8x12 grid (every blob a spatial region)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_blobs, C, generator=g) * 4
    label = torch.arange(num_blobs).repeat_interleave(per_blob)
    x = centres[label] + torch.randn(num_blobs * per_blob, C, generator=g) * 0.05
    score = torch.randn(num_blobs * per_blob, 1, generator=g) * 3
    tokens = TokenSet.from_grid(x[None].to(dtype), (8, 12))
    return tokens.replace(score=score[None].to(dtype)), label


def _first_member(idx):
    """For every token of image 0, the first token of its cluster: the clustering without
    its ids."""
    same = idx[0].unsqueeze(0) == idx[0].unsqueeze(1)
    return same.to(torch.uint8).argmax(1)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_autocast_half_precision_clusters_and_merges_in_fp32(dtype):
    ref_tokens, _ = blob_tokens(torch.float32)
    ref_clusters = build_clustering(dict(type='dpc_knn', ratio=6 / 96))(ref_tokens, 1)
    ref = merge_tokens(ref_tokens, ref_clusters, (4, 6), score=ref_tokens.score)
    tokens, _ = blob_tokens(dtype)
    with torch.autocast('cpu', dtype=dtype):
        clusters = build_clustering(dict(type='dpc_knn', ratio=6 / 96))(tokens, 1)
        merged = merge_tokens(tokens, clusters, (4, 6), score=tokens.score)
    # The same clusters (one per blob); their order (by centre score) may differ.
    idx, ref_idx = clusters.idx, ref_clusters.idx
    assert clusters.num_clusters == ref_clusters.num_clusters
    assert torch.equal(_first_member(idx), _first_member(ref_idx))
    assert _first_member(idx).unique().numel() == 6
    assert merged.x.dtype == dtype and torch.isfinite(merged.x).all()
    assert torch.isfinite(merged.agg_weight).all() and merged.agg_weight.dtype == torch.float32
    torch.testing.assert_close(merged.x[0, idx[0]].float(),
                               ref.x[0, ref_idx[0]],
                               atol=0.05,
                               rtol=0.02)


def test_scores_beyond_fp16_range_stay_finite():
    tokens, _ = blob_tokens(torch.float16)
    tokens = tokens.replace(score=tokens.score * 400)  # exp(score) overflows fp16 and fp32
    with torch.autocast('cpu', dtype=torch.float16):
        clusters = build_clustering(dict(type='dpc_knn', ratio=6 / 96))(tokens, 1)
        merged = merge_tokens(tokens, clusters, (4, 6), score=tokens.score)
    assert torch.isfinite(merged.x).all() and torch.isfinite(merged.agg_weight).all()
