"""Token sets and weights shared by the layer tests."""
import math

import torch

from tcformer_mm.ops import Clusters, TokenSet, merge_tokens


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
    return merge_tokens(tokens,
                        Clusters(idx, num_clusters), ((h - 1) // 2 + 1, (w - 1) // 2 + 1),
                        token_weight=weight)


def randomize(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return module


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
