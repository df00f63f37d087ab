"""The dynamic-token block and its attention (eq. 4, key/value reductions)."""

import pytest
import torch
import torch.nn.functional as F
from layer_utils import _eq4, grid_tokens, merged_tokens, randomize

from tcformer_mm.models.layers import GridBlock, TCBlock
from tcformer_mm.models.layers.tc_block import TCAttention
from tcformer_mm.ops import TokenSet, token2map


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
