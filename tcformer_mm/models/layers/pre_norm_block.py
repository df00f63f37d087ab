"""The layout shared by TCFormer's transformer blocks."""
from typing import Optional

import torch.nn as nn
from mmcv.cnn.bricks.drop import build_dropout
from mmengine.model import BaseModule


class PreNormBlock(BaseModule):
    """A pre-norm transformer block's modules: ``x + drop_path(attn(norm1(x)))``, then
    ``x + drop_path(mlp(norm2(x)))`` (PVTv2's block, and TCFormer's with token inputs).

    Holds the modules under the released keys (``norm1``, ``attn``, ``norm2``, ``mlp``);
    subclasses build the attention and the MLP and write the forward for their inputs.

    Args:
        embed_dims (int): Token channels.
        attn (nn.Module): The attention.
        mlp (nn.Module): The MLP.
        drop_path_rate (float): Stochastic depth rate of this block. Defaults to 0.
        norm_eps (float): Epsilon of ``norm1`` and ``norm2``. Defaults to 1e-6.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 attn: nn.Module,
                 mlp: nn.Module,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-6,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = attn
        self.drop_path = build_dropout(dict(type='DropPath', drop_prob=drop_path_rate))
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = mlp
