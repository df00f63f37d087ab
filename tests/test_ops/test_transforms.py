import inspect

import pytest
import torch

import tcformer_mm.ops.clustering as clustering
import tcformer_mm.ops.token_set as token_set
import tcformer_mm.ops.transforms as transforms
from tcformer_mm.ops import (Clusters, TokenSet, grid_to_map_index, map2token, merge_tokens,
                             token2map, token2token)

pytestmark = pytest.mark.usefixtures('formulation')


def merged_example(dtype=torch.float32, C=3):
    """Init grid 2x4, three tokens. Cells -> tokens: [[0, 0, 1, 2], [0, 1, 1, 2]]."""
    x = torch.randn(1, 3, C, dtype=dtype)
    idx_token = torch.tensor([[0, 0, 1, 2, 0, 1, 1, 2]])
    agg_weight = torch.tensor([.5, .25, 1., .6, .25, .3, .7, .4], dtype=dtype).reshape(1, 8, 1)
    return TokenSet(x=x,
                    map_size=(1, 2),
                    init_grid_size=(2, 4),
                    idx_token=idx_token,
                    agg_weight=agg_weight)


def random_merged(B=2, H0=6, W0=5, N=7, C=4, dtype=torch.float64, map_size=(3, 3), seed=0):
    """Random token sets: every image its own assignment of cells to N tokens (all used)."""
    g = torch.Generator().manual_seed(seed)
    N0 = H0 * W0
    idx = torch.stack([
        torch.cat([torch.arange(N), torch.randint(0, N, (N0 - N, ),
                                                  generator=g)])[torch.randperm(N0, generator=g)]
        for _ in range(B)
    ])
    agg = torch.rand(B, N0, 1, generator=g, dtype=dtype) + 0.1
    x = torch.randn(B, N, C, generator=g, dtype=dtype)
    return TokenSet(x=x, map_size=map_size, init_grid_size=(H0, W0), idx_token=idx, agg_weight=agg)


def test_grid_to_map_index():
    assert grid_to_map_index((4, 4),
                             (2, 2)).tolist() == [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]
    # floor(r * H / H0): 5 rows onto 2 -> [0, 0, 0, 1, 1]; 3 columns onto 3 -> identity.
    assert grid_to_map_index((5, 3), (2, 3)).reshape(5, 3).tolist() == [[0, 1, 2], [0, 1, 2],
                                                                        [0, 1, 2], [3, 4, 5],
                                                                        [3, 4, 5]]


def test_grid_round_trip_is_identity():
    x = torch.randn(2, 20, 3)
    tokens = TokenSet.from_grid(x, (4, 5))
    fmap = token2map(tokens)
    assert fmap.shape == (2, 3, 4, 5)
    assert torch.equal(fmap[:, :, 1, 2], x[:, 1 * 5 + 2])
    assert torch.equal(map2token(fmap, tokens), x)


def test_round_trip_general_path():
    # Tokens = 2x2 blocks of an 8x6 grid drawn on their own 4x3 map (not the grid fast path).
    x = torch.randn(2, 12, 3, dtype=torch.float64)
    r, c = torch.meshgrid(torch.arange(8), torch.arange(6), indexing='ij')
    idx = ((r // 2) * 3 + c // 2).reshape(1, -1).expand(2, -1)
    tokens = TokenSet(x=x,
                      map_size=(4, 3),
                      init_grid_size=(8, 6),
                      idx_token=idx,
                      agg_weight=torch.full((2, 48, 1), 0.25, dtype=torch.float64))
    fmap = token2map(tokens)
    # Up to the released "+ 1e-6" of every normaliser (4 cells per pixel and per token).
    torch.testing.assert_close(fmap, x.transpose(1, 2).reshape(2, 3, 4, 3) / (1 + 1e-6 / 4))
    torch.testing.assert_close(map2token(fmap, tokens), x / (1 + 1e-6 / 4)**2)


def test_token2map_hand_example():
    tokens = merged_example()
    x = tokens.x[0]
    fmap = token2map(tokens)  # map 1x2: left half cells -> tokens 0,0,0,1; right -> 1,2,1,2
    torch.testing.assert_close(fmap[0, :, 0, 0], (3 * x[0] + x[1]) / 4)
    torch.testing.assert_close(fmap[0, :, 0, 1], (x[1] + x[2]) / 2)
    full = token2map(tokens, map_size=(2, 4))  # one cell per pixel
    torch.testing.assert_close(full[0].permute(1, 2, 0).reshape(8, -1), x[tokens.idx_token[0]])
    finer = token2map(tokens, map_size=(4, 4))  # rows 1 and 3 reached by no cell -> 0
    assert torch.equal(finer[0, :, 1], torch.zeros(3, 4))
    torch.testing.assert_close(finer[0, :, 2], full[0, :, 1])


def test_map2token_hand_example():
    tokens = merged_example()
    fmap = torch.randn(1, 3, 2, 4)
    f = fmap[0].reshape(3, 8).T  # (cell, C)
    out = map2token(fmap, tokens)[0]
    # Plain means over the cells: the aggregation weights are not used (released map2token).
    torch.testing.assert_close(out[0], (f[0] + f[1] + f[4]) / 3)
    torch.testing.assert_close(out[1], (f[2] + f[5] + f[6]) / 3)
    torch.testing.assert_close(out[2], (f[3] + f[7]) / 2)
    # Coarse map: cells 0, 1, 4 of token 0 all lie in pixel 0 -> token 0 = pixel 0.
    coarse = torch.randn(1, 3, 1, 2)
    torch.testing.assert_close(map2token(coarse, tokens)[0, 0], coarse[0, :, 0, 0])


def test_merge_tokens_hand_example():
    x = torch.randn(1, 4, 3)
    grid = TokenSet.from_grid(x, (2, 2))
    merged = merge_tokens(grid,
                          Clusters(torch.tensor([[0, 1, 0, 1]]), 2),
                          map_size=(1, 1),
                          token_weight=torch.tensor([1., 3., 1., 1.]).reshape(1, 4, 1))
    m = merged.x[0]
    torch.testing.assert_close(m[0], (x[0, 0] + x[0, 2]) / 2)
    torch.testing.assert_close(m[1], (3 * x[0, 1] + x[0, 3]) / 4)
    assert merged.idx_token.tolist() == [[0, 1, 0, 1]]
    torch.testing.assert_close(merged.agg_weight.flatten(), torch.tensor([.5, .75, .5, .25]))
    assert merged.map_size == (1, 1) and merged.init_grid_size == (2, 2)
    assert merged.score is None
    # Drawn on the 2x2 map every pixel is its cluster's feature; on 1x1 the area average.
    fmap = token2map(merged, map_size=(2, 2))[0]
    torch.testing.assert_close(fmap[:, 0, 0], m[0])
    torch.testing.assert_close(fmap[:, 1, 1], m[1])
    torch.testing.assert_close(token2map(merged)[0, :, 0, 0], (m[0] + m[1]) / 2)
    # A second merge composes idx_token and agg_weight.
    again = merge_tokens(merged,
                         Clusters(torch.tensor([[0, 0]]), 1),
                         map_size=(1, 1),
                         token_weight=torch.tensor([[[1.], [3.]]]))
    assert again.idx_token.tolist() == [[0, 0, 0, 0]]
    torch.testing.assert_close(
        again.agg_weight.flatten(),
        torch.tensor([.5, .75, .5, .25]) * torch.tensor([.25, .75, .25, .75]))
    torch.testing.assert_close(again.x[0, 0], (m[0] + 3 * m[1]) / 4)


def test_merge_empty_cluster_is_zero():
    grid = TokenSet.from_grid(torch.randn(1, 4, 3), (2, 2))
    merged = merge_tokens(grid, Clusters(torch.tensor([[0, 0, 2, 2]]), 3), (1, 1))
    assert torch.equal(merged.x[0, 1], torch.zeros(3))
    assert torch.isfinite(merged.agg_weight).all()


def test_token2token():
    x = torch.randn(1, 4, 3)
    grid = TokenSet.from_grid(x, (2, 2))
    merged = merge_tokens(grid,
                          Clusters(torch.tensor([[1, 0, 1, 1]]), 2), (1, 1),
                          token_weight=torch.tensor([2., 1., 1., 5.]).reshape(1, 4, 1))
    # Up-sampling copies every merged token to its original tokens.
    up = token2token(merged, grid)
    torch.testing.assert_close(up[0], merged.x[0, [1, 0, 1, 1]])
    # Down: the agg_weight-weighted average reproduces the merge (eq. 3).
    torch.testing.assert_close(token2token(grid, merged), merged.x)
    with pytest.raises(ValueError, match='initial grid'):
        token2token(grid, TokenSet.from_grid(torch.randn(1, 9, 3), (3, 3)))


def test_batch_with_different_clusterings_equals_single_images():
    tokens = random_merged(B=3, dtype=torch.float32)
    target = random_merged(B=3, N=11, dtype=torch.float32, seed=1)
    fmap = torch.randn(3, 4, 4, 2)
    idx_cluster = torch.tensor([[0, 1, 2, 0, 1, 2, 0], [2, 2, 1, 1, 0, 0, 0], [1, 0, 1, 0, 1, 0,
                                                                               2]])
    weight = torch.rand(3, 7, 1) + 0.5
    batched = (token2map(tokens), map2token(fmap, tokens), token2token(tokens, target),
               merge_tokens(tokens, Clusters(idx_cluster, 3), (2, 2), token_weight=weight))
    for b in range(3):
        one = TokenSet(x=tokens.x[b:b + 1],
                       map_size=tokens.map_size,
                       init_grid_size=tokens.init_grid_size,
                       idx_token=tokens.idx_token[b:b + 1],
                       agg_weight=tokens.agg_weight[b:b + 1])
        one_t = target.replace(x=target.x[b:b + 1],
                               idx_token=target.idx_token[b:b + 1],
                               agg_weight=target.agg_weight[b:b + 1])
        torch.testing.assert_close(token2map(one)[0], batched[0][b])
        torch.testing.assert_close(map2token(fmap[b:b + 1], one)[0], batched[1][b])
        torch.testing.assert_close(token2token(one, one_t)[0], batched[2][b])
        merged = merge_tokens(one,
                              Clusters(idx_cluster[b:b + 1], 3), (2, 2),
                              token_weight=weight[b:b + 1])
        torch.testing.assert_close(merged.x[0], batched[3].x[b])
        assert torch.equal(merged.idx_token[0], batched[3].idx_token[b])
        torch.testing.assert_close(merged.agg_weight[0], batched[3].agg_weight[b])


def test_gradcheck():
    tokens = random_merged()
    target = random_merged(N=9, seed=3)
    x = tokens.x.clone().requires_grad_()
    fmap = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    weight = (torch.rand(2, 7, 1, dtype=torch.float64) + 0.5).requires_grad_()
    idx_cluster = torch.tensor([[0, 1, 2, 0, 1, 2, 0], [2, 2, 1, 1, 0, 0, 0]])

    assert torch.autograd.gradcheck(lambda v: token2map(tokens.replace(x=v)), (x, ))
    assert torch.autograd.gradcheck(lambda v: token2map(tokens.replace(x=v), (5, 4)), (x, ))
    assert torch.autograd.gradcheck(lambda f: map2token(f, tokens), (fmap, ))
    assert torch.autograd.gradcheck(lambda v: token2token(tokens.replace(x=v), target), (x, ))

    def merge(v, w):
        merged = merge_tokens(tokens.replace(x=v), Clusters(idx_cluster, 3), (2, 2), token_weight=w)
        return merged.x, merged.agg_weight

    assert torch.autograd.gradcheck(merge, (x, weight))


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_autocast_bf16(dtype):
    tokens = random_merged(dtype=torch.float32)
    tokens = tokens.replace(x=tokens.x.to(dtype))
    fmap = torch.randn(2, 4, 3, 3).to(dtype)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = [token2map(tokens), map2token(fmap, tokens), token2token(tokens, tokens)]
        merged = merge_tokens(tokens,
                              Clusters(torch.tensor([[0, 1, 2, 0, 1, 2, 0]] * 2), 3), (2, 2),
                              token_weight=torch.rand(2, 7, 1).to(dtype) + 0.5)
    for out in outs + [merged.x]:
        assert out.dtype == dtype and torch.isfinite(out).all()
    assert torch.isfinite(merged.agg_weight).all()
    ref = token2map(random_merged(dtype=torch.float32).replace(x=tokens.x.float()))
    torch.testing.assert_close(outs[0].float(), ref, atol=0.02, rtol=0.02)


def test_no_sparse_and_no_openmmlab():
    import tcformer_mm.ops.clustering.base as base
    import tcformer_mm.ops.clustering.bsm as bsm
    import tcformer_mm.ops.clustering.distance as distance
    import tcformer_mm.ops.clustering.dpc_knn as dpc_knn
    import tcformer_mm.ops.clustering.kmeans as kmeans
    import tcformer_mm.ops.clustering.partition as partition
    import tcformer_mm.ops.clustering.search as search
    import tcformer_mm.ops.clustering.topk as topk
    for module in (transforms, token_set, clustering, base, bsm, distance, dpc_knn, kmeans,
                   partition, search, topk):
        source = inspect.getsource(module)
        for sparse_api in ('torch.sparse.', 'sparse_coo_tensor', 'to_sparse', 'sparse.mm'):
            assert sparse_api not in source
        for package in ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpose', 'mmpretrain'):
            assert f'import {package}' not in source and f'from {package}' not in source


def _per_cell_token2map(tokens, map_size):
    """token2map as a plain sum over the initial grid cells (the definition)."""
    x = tokens.x.double()
    B, N, C = x.shape
    H, W = map_size
    pix = grid_to_map_index(tokens.init_grid_size, map_size)
    out = torch.zeros(B, H * W, C, dtype=torch.float64)
    count = torch.zeros(B, H * W, dtype=torch.float64)
    for b in range(B):
        out[b].index_add_(0, pix, x[b, tokens.idx_token[b]])
        count[b].index_add_(0, pix, torch.ones(len(pix), dtype=torch.float64))
    out = out / (count + 1e-6).unsqueeze(-1)
    return out.reshape(B, H, W, C).permute(0, 3, 1, 2)


def _per_cell_map2token(fmap, tokens):
    """map2token as a plain sum over the initial grid cells (the definition: every cell
    weighs 1)."""
    B, C, H, W = fmap.shape
    N = tokens.num_tokens
    pix = grid_to_map_index(tokens.init_grid_size, (H, W))
    pixels = fmap.double().flatten(2).transpose(1, 2)
    out = torch.zeros(B, N, C, dtype=torch.float64)
    for b in range(B):
        w = torch.ones_like(tokens.agg_weight[b, :, 0].double())
        total = torch.zeros(N, dtype=torch.float64).index_add_(0, tokens.idx_token[b], w)
        w = w / (total + 1e-6)[tokens.idx_token[b]]
        out[b].index_add_(0, tokens.idx_token[b], pixels[b, pix] * w.unsqueeze(1))
    return out


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_pair_coalesced_transforms_match_the_per_cell_definition(dtype):
    """token2map / map2token sum over coalesced (pixel, token) pairs; shared pairs give the
    same results, and pairs made for another map size are not used."""
    from tcformer_mm.ops import token_map_pairs
    g = torch.Generator().manual_seed(0)
    B, H0, W0, N, C = 2, 13, 11, 30, 24
    tokens = TokenSet.from_grid(torch.randn(B, H0 * W0, C, generator=g), (H0, W0))
    idx = torch.randint(0, N, (B, H0 * W0), generator=g)
    idx[:, :N] = torch.arange(N)
    tokens = merge_tokens(tokens,
                          Clusters(idx, N), (7, 6),
                          token_weight=torch.rand(B, H0 * W0, 1, generator=g) + 0.1)
    tokens = tokens.replace(x=tokens.x.to(dtype))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=2e-2, atol=2e-2)
    for map_size in (tokens.map_size, (13, 11), (3, 2), (20, 17)):
        pairs = token_map_pairs(tokens, map_size)
        assert pairs.num_pairs <= H0 * W0 * B
        expected = _per_cell_token2map(tokens, map_size).to(dtype)
        torch.testing.assert_close(token2map(tokens, map_size), expected, **tol)
        torch.testing.assert_close(token2map(tokens, map_size, pairs=pairs), expected, **tol)
        fmap = torch.randn(B, C, *map_size, generator=g).to(dtype)
        expected = _per_cell_map2token(fmap, tokens).to(dtype)
        torch.testing.assert_close(map2token(fmap, tokens), expected, **tol)
        torch.testing.assert_close(map2token(fmap, tokens, pairs=pairs), expected, **tol)
        # Pairs of another map size are recomputed, not misused.
        other = token_map_pairs(tokens, (4, 4))
        torch.testing.assert_close(map2token(fmap, tokens, pairs=other), expected, **tol)
    # Gradients reach the features as through the per-cell sums.
    x = tokens.x.double().requires_grad_()
    token2map(tokens.replace(x=x)).square().sum().backward()
    x_ref = tokens.x.double().requires_grad_()
    _per_cell_token2map(tokens.replace(x=x_ref), tokens.map_size).square().sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)


def test_traced_pair_sums_match_eager():
    """Eager transforms sum the pairs with ``embedding_bag``; a traced graph (ONNX export) uses
    gathers and ``index_add``. Both give the same maps and tokens, also on a new input."""
    tokens = random_merged(dtype=torch.float32, map_size=(4, 3))
    target = random_merged(N=9, seed=3, dtype=torch.float32)
    fmap = torch.randn(2, 4, 4, 3)

    def transforms_of(x, f):
        t = tokens.replace(x=x)
        return token2map(t), map2token(f, t), token2map(t, (7, 5)), token2token(t, target)

    traced = torch.jit.trace(transforms_of, (tokens.x, fmap), check_trace=False)
    assert 'embedding_bag' not in str(traced.graph)
    assert 'index_add' in str(traced.graph)
    for scale in (1., -3.):
        x, f = tokens.x * scale, fmap * scale
        for got, expected in zip(traced(x, f), transforms_of(x, f)):
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def test_half_size_transforms_go_through_the_own_map(monkeypatch):
    """At half the tokens' map size (the CTM's strided conv, the first block's keys/values) the
    transforms pool and up-sample the own map, with the own map's pairs: the same values as the
    per-cell definition, in fp64 to rounding, for grid and merged tokens."""
    from tcformer_mm.ops import halves_own_map, pairs_for, token_map_pairs
    g = torch.Generator().manual_seed(0)
    B, H0, W0, N, C = 2, 8, 12, 20, 5
    grid = TokenSet.from_grid(torch.randn(B, H0 * W0, C, generator=g, dtype=torch.float64),
                              (H0, W0))
    idx = torch.randint(0, N, (B, H0 * W0), generator=g)
    idx[:, :N] = torch.arange(N)
    merged = merge_tokens(grid,
                          Clusters(idx, N), (4, 6),
                          token_weight=torch.rand(B, H0 * W0, 1, generator=g, dtype=torch.float64) +
                          0.1)
    assert halves_own_map(grid, (4, 6)) and halves_own_map(merged, (2, 3))
    assert not halves_own_map(merged, (3, 3)) and not halves_own_map(merged, (4, 6))
    # A 5 x 7 map: the stride-2 conv's 3 x 4 output does not nest in it.
    odd = TokenSet.from_grid(torch.zeros(1, 35, 1), (5, 7), init_grid_size=(10, 14))
    assert not halves_own_map(odd, (3, 4))
    own = token_map_pairs(merged)
    assert pairs_for(merged, (2, 3), own) is own and pairs_for(grid, (4, 6)) is None
    assert pairs_for(merged, (3, 3), own).map_size == (3, 3)
    made = []
    monkeypatch.setattr(transforms, 'token_map_pairs',
                        lambda *a, **k: made.append(1) or token_map_pairs(*a, **k))
    tol = dict(rtol=1e-12, atol=1e-12)
    for tokens, pairs, half in ((grid, None, (4, 6)), (merged, own, (2, 3))):
        torch.testing.assert_close(token2map(tokens, half, pairs=pairs),
                                   _per_cell_token2map(tokens, half), **tol)
        fmap = torch.randn(B, C, *half, generator=g, dtype=torch.float64)
        torch.testing.assert_close(map2token(fmap, tokens, pairs=pairs),
                                   _per_cell_map2token(fmap, tokens), **tol)
    assert not made  # no pairs of the half-size map
