"""Layers of the TCFormer backbone: key layout, grid/dynamic equivalence, eq. 3 and eq. 4."""
import math

import pytest
import torch
import torch.nn.functional as F

from tcformer_mm.models.layers import CTM, GridBlock, OverlapPatchEmbed, TCBlock, TokenConv
from tcformer_mm.models.layers.tc_block import TCAttention
from tcformer_mm.ops import TokenSet, merge_tokens, token2map


def grid_tokens(b=2, h=8, w=6, c=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return TokenSet.from_grid(torch.randn(b, h * w, c, generator=g), (h, w))


def merged_tokens(b=2, h=8, w=6, c=16, num_clusters=12, seed=0):
    """Tokens after a random merge of a grid (every cluster non-empty)."""
    g = torch.Generator().manual_seed(seed)
    tokens = grid_tokens(b, h, w, c, seed)
    idx = torch.randint(0, num_clusters, (b, h * w), generator=g)
    idx[:, :num_clusters] = torch.arange(num_clusters)
    weight = torch.rand(b, h * w, 1, generator=g) + 0.1
    return merge_tokens(tokens, idx, num_clusters, weight, ((h - 1) // 2 + 1, (w - 1) // 2 + 1))


def randomize(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return module


def test_released_keys():
    grid = GridBlock(64, 1, 8, sr_ratio=8)
    assert set(grid.state_dict()) == {
        'norm1.weight', 'norm1.bias', 'attn.q.weight', 'attn.q.bias', 'attn.kv.weight',
        'attn.kv.bias', 'attn.proj.weight', 'attn.proj.bias', 'attn.sr.weight', 'attn.sr.bias',
        'attn.norm.weight', 'attn.norm.bias', 'norm2.weight', 'norm2.bias', 'mlp.fc1.weight',
        'mlp.fc1.bias', 'mlp.dwconv.dwconv.weight', 'mlp.dwconv.dwconv.bias', 'mlp.fc2.weight',
        'mlp.fc2.bias'
    }
    assert grid.state_dict()['attn.kv.weight'].shape == (128, 64)
    assert grid.state_dict()['mlp.dwconv.dwconv.weight'].shape == (512, 1, 3, 3)

    block = TCBlock(128, 2, 8, sr_ratio=4)
    keys = set(block.state_dict())
    assert keys == (set(grid.state_dict()) - {'mlp.dwconv.dwconv.weight', 'mlp.dwconv.dwconv.bias'}
                    | {'mlp.dwconv.weight', 'mlp.dwconv.bias', 'mlp.dwconv.skip.weight'})
    assert block.state_dict()['mlp.dwconv.skip.weight'].shape == (1024, 1, 1)
    assert block.state_dict()['attn.sr.weight'].shape == (128, 128, 4, 4)
    # Stage 4 (sr 1) and the avg-pool reduction have no sr/norm.
    for b in (TCBlock(512, 8, 4, sr_ratio=1), TCBlock(256, 4, 4, sr_ratio=4, kv_reduction='pool')):
        assert not any(k.startswith(('attn.sr', 'attn.norm')) for k in b.state_dict())

    ctm = CTM(64, 128)
    assert {
        k: tuple(v.shape)
        for k, v in ctm.state_dict().items()
    } == {
        'conv.weight': (128, 64, 3, 3),
        'conv.bias': (128, ),
        'conv.skip.weight': (128, 64, 1),
        'norm.weight': (128, ),
        'norm.bias': (128, ),
        'score.weight': (1, 128),
        'score.bias': (1, )
    }
    embed = OverlapPatchEmbed(3, 64)
    assert set(embed.state_dict()) == {'proj.weight', 'proj.bias', 'norm.weight', 'norm.bias'}
    assert embed.proj.kernel_size == (7, 7) and embed.proj.stride == (4, 4)


@pytest.mark.parametrize('groups', [1, 16])
def test_token_conv_on_grid_is_conv_plus_skip(groups):
    tokens = grid_tokens(c=16)
    conv = randomize(TokenConv(16, 16, 3, padding=1, groups=groups))
    b, n, c = tokens.x.shape
    x_map = tokens.x.transpose(1, 2).reshape(b, c, *tokens.map_size)
    expected = F.conv2d(x_map, conv.weight, conv.bias, padding=1, groups=groups)
    expected = expected.flatten(2).transpose(1, 2)
    expected = expected + F.conv1d(tokens.x.transpose(1, 2), conv.skip.weight,
                                   groups=groups).transpose(1, 2)
    torch.testing.assert_close(conv(tokens), expected)


def test_token_conv_strided_reads_back_into_the_same_tokens():
    tokens = merged_tokens()
    conv = randomize(TokenConv(16, 32, 3, stride=2, padding=1))
    out = conv(tokens)
    assert out.shape == (2, tokens.num_tokens, 32)
    assert torch.isfinite(out).all()


def test_tc_block_on_grid_tokens_equals_grid_block():
    """On grid tokens token2map is a reshape: a TCBlock is the PVTv2 block plus the skip."""
    torch.manual_seed(0)
    grid = randomize(GridBlock(16, 2, 4, sr_ratio=2)).eval()
    block = TCBlock(16, 2, 4, sr_ratio=2).eval()
    state = {k.replace('dwconv.dwconv.', 'dwconv.'): v for k, v in grid.state_dict().items()}
    state['mlp.dwconv.skip.weight'] = torch.zeros(64, 1, 1)
    block.load_state_dict(state)
    tokens = grid_tokens(c=16)
    torch.testing.assert_close(block(tokens).x, grid(tokens.x, tokens.map_size))


def _eq4(q_x, kv_x, score, attn):
    """Reference of eq. 4 with the heads written out."""
    b, n, c = q_x.shape
    h = attn.num_heads
    q = attn.q(q_x).reshape(b, n, h, c // h).transpose(1, 2)
    k, v = attn.kv(kv_x).reshape(b, -1, 2, h, c // h).permute(2, 0, 3, 1, 4)
    logits = q @ k.transpose(-2, -1) / math.sqrt(c // h)
    if score is not None:
        logits = logits + score.transpose(1, 2).unsqueeze(1)
    out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
    return attn.proj(out)


def test_attention_adds_the_importance_score():
    attn = randomize(TCAttention(16, 2, sr_ratio=1)).eval()
    query = merged_tokens()
    source = grid_tokens(c=16, seed=1)
    source = source.replace(score=torch.randn(2, source.num_tokens, 1))
    torch.testing.assert_close(attn(query, source), _eq4(query.x, source.x, source.score, attn))
    # No score: nothing is added.
    plain = source.replace(score=None)
    torch.testing.assert_close(attn(query, plain), _eq4(query.x, plain.x, None, attn))


@pytest.mark.parametrize('mode', ['sr', 'pool'])
def test_map_reductions_follow_the_release(mode):
    """Key/values are made at the query's map size; the score map is avg-pooled."""
    attn = randomize(TCAttention(16, 2, sr_ratio=2, kv_reduction=mode)).eval()
    assert (len(list(attn.parameters())) == 10) == (mode == 'sr')
    query = merged_tokens()  # map 4x3
    source = grid_tokens(c=16, seed=1)  # map 8x6
    source = source.replace(score=torch.randn(2, source.num_tokens, 1))
    fmap = token2map(source, query.map_size)
    smap = token2map(source.replace(x=source.score), query.map_size)
    if mode == 'sr':
        kv = attn.norm(attn.sr(fmap).flatten(2).transpose(1, 2))
    else:
        kv = F.avg_pool2d(fmap, 2, 2).flatten(2).transpose(1, 2)
    score = F.avg_pool2d(smap, 2, 2).flatten(2).transpose(1, 2)
    torch.testing.assert_close(attn(query, source), _eq4(query.x, kv, score, attn))
    # A caller-made (e.g. clustering-reduced) key/value set goes straight to the attention.
    reduced_x, reduced_score = attn.reduce(source, query.map_size)
    override = TokenSet.from_grid(reduced_x, (2, 1)).replace(score=reduced_score)
    torch.testing.assert_close(attn(query, reduced_key_value=override), attn(query, source))


def test_tc_block_first_block_attends_to_the_source():
    block = randomize(TCBlock(16, 2, 4, sr_ratio=2)).eval()
    query, source = merged_tokens(), grid_tokens(c=16, seed=1)
    out = block(query, source)
    assert out.x.shape == query.x.shape and out.map_size == query.map_size
    assert torch.equal(out.idx_token, query.idx_token)
    assert not torch.allclose(out.x, block(query).x)


def test_ctm_merges_by_eq3_and_keeps_the_score():
    torch.manual_seed(0)
    ctm = randomize(CTM(16, 32, clustering=dict(type='dpc_knn', k=5))).eval()
    tokens = grid_tokens(h=9, w=7, c=16)
    merged, source = ctm(tokens)
    assert merged.num_tokens == math.ceil(63 / 4)
    assert merged.map_size == (5, 4) and merged.score is None
    assert source.x.shape == (2, 63, 32) and source.score.shape == (2, 63, 1)
    idx, num = ctm.clustering(source, 1, 0.25)
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


def test_clustering_reduction_merges_into_the_target_distribution():
    """'cr': keys/values are the level's tokens merged into the last-stage tokens."""
    from tcformer_mm.ops import token2token
    query = merged_tokens(h=8, w=6, c=16, num_clusters=12)
    top = merged_tokens(h=8, w=6, c=16, num_clusters=3, seed=2)
    block = randomize(TCBlock(16, 2, 1, kv_reduction='cr')).eval()
    assert {k for k in block.state_dict() if k.startswith('attn.cr')} == {
        'attn.cr.proj.weight', 'attn.cr.proj.bias', 'attn.cr.norm.weight', 'attn.cr.norm.bias'
    }
    attn = block.attn
    q = query.replace(x=torch.randn(2, 12, 16))
    kv = attn.cr.act(attn.cr.norm(attn.cr.proj(token2token(q, top))))
    torch.testing.assert_close(attn(q, q, cr_target=top), _eq4(q.x, kv, None, attn))
    assert block(query, cr_target=top).x.shape == query.x.shape
    with pytest.raises(ValueError, match='cr_target'):
        block(query)
