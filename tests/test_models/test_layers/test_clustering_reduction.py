"""The CR layer of CR-MTA."""

import pytest
import torch
from layer_utils import _eq4, merged_tokens, randomize

from tcformer_mm.models.layers import TCBlock


def test_clustering_reduction_merges_into_the_target_distribution():
    """'cr': keys/values are the level's tokens merged into the last-stage tokens."""
    from tcformer_mm.ops import token2token
    query = merged_tokens(h=8, w=6, c=16, num_clusters=12)
    top = merged_tokens(h=8, w=6, c=16, num_clusters=3, seed=2)
    block = randomize(TCBlock(16, 2, 1, kv_reduction='cr')).eval()
    assert {k
            for k in block.state_dict() if k.startswith('attn.cr')} == {
                'attn.cr.proj.weight', 'attn.cr.proj.bias', 'attn.cr.norm.weight',
                'attn.cr.norm.bias'
            }
    attn = block.attn
    q = query.replace(x=torch.randn(2, 12, 16))
    kv = attn.cr.act(attn.cr.norm(attn.cr.proj(token2token(q, top))))
    torch.testing.assert_close(attn(q, q, cr_target=top), _eq4(q.x, kv, None, attn))
    assert block(query, cr_target=top).x.shape == query.x.shape
    with pytest.raises(ValueError, match='cr_target'):
        block(query)
