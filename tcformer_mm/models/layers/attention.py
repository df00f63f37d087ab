"""Multi-head attention shared by the grid block and the dynamic-token block."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule


class MultiHeadAttention(BaseModule):
    """Multi-head attention from query tokens to (reduced) key/value tokens.

    Holds the projections every TCFormer attention has, under the released key names: ``q``
    (Linear C->C), ``kv`` (Linear C->2C, keys and values in one matmul) and ``proj``. The
    subclasses decide how the key/value tokens are obtained (spatial reduction on a grid,
    on dynamic tokens, or precomputed by a neck).

    Args:
        embed_dims (int): Token channels C.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        qkv_bias (bool): Bias in ``q`` and ``kv``. Defaults to True.
        attn_drop_rate (float): Dropout on the attention weights. Defaults to 0.
        proj_drop_rate (float): Dropout after ``proj``. Defaults to 0.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 attn_drop_rate: float = 0.,
                 proj_drop_rate: float = 0.,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads '
                             f'({num_heads}).')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)
        self.attn_drop_rate = attn_drop_rate
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def attend(self,
               query: torch.Tensor,
               key_value: torch.Tensor,
               logit_bias: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attention of ``query`` over ``key_value``, eq. 4 when ``logit_bias`` is given.

        Args:
            query (Tensor): Query tokens, shape (B, N, C) (already normalised).
            key_value (Tensor): Key/value tokens, shape (B, M, C) (already reduced).
            logit_bias (Tensor, optional): Added to the attention logits of every query and
                head, shape (B, M, 1): the importance score P of eq. 4. Defaults to None.

        Returns:
            Tensor: Shape (B, N, C), after ``proj`` and its dropout.
        """
        b, n, c = query.shape
        head_dims = c // self.num_heads
        q = self.q(query).reshape(b, n, self.num_heads, head_dims).transpose(1, 2)
        kv = self.kv(key_value).reshape(b, -1, 2, self.num_heads, head_dims)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)
        mask = None
        if logit_bias is not None:
            # Broadcast over heads and queries; SDPA wants the mask in the query's dtype
            # (bf16 under autocast), the score itself stays a small additive term.
            mask = logit_bias.transpose(1, 2).unsqueeze(1).to(q.dtype)
        x = F.scaled_dot_product_attention(q,
                                           k,
                                           v,
                                           attn_mask=mask,
                                           dropout_p=self.attn_drop_rate if self.training else 0.)
        x = x.transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(x))
