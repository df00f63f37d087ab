"""Transformer block of the first stage, on grid tokens (PVTv2 style)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from .attention import MultiHeadAttention
from .pre_norm_block import PreNormBlock


class GridAttention(MultiHeadAttention):
    """Spatial-reduction attention on grid tokens.

    Keys and values come from the token map reduced by a ``sr_ratio`` x ``sr_ratio`` strided
    conv (``sr``) and a LayerNorm (``norm``), both present only when ``sr_ratio > 1``.

    Args:
        embed_dims (int): Token channels C.
        num_heads (int): Number of heads.
        sr_ratio (int): Spatial reduction ratio. Defaults to 1.
        **kwargs: Passed to :class:`MultiHeadAttention`.
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int = 1, **kwargs):
        super().__init__(embed_dims, num_heads, **kwargs)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio, stride=sr_ratio)
            # PyTorch's default eps, as in the released PVTv2/TCFormer attention.
            self.norm = nn.LayerNorm(embed_dims)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """Self-attention of grid tokens.

        Args:
            x (Tensor): Tokens in raster order, shape (B, H * W, C).
            hw_shape (tuple[int, int]): The grid size (H, W).

        Returns:
            Tensor: Shape (B, H * W, C).
        """
        kv = x
        if self.sr_ratio > 1:
            b, _, c = x.shape
            kv = x.transpose(1, 2).reshape(b, c, *hw_shape)
            kv = self.norm(self.sr(kv).flatten(2).transpose(1, 2))
        return self.attend(x, kv)


class DWConv(nn.Module):
    """Depth-wise 3x3 conv on grid tokens; wrapped so the key reads ``dwconv.dwconv``."""

    def __init__(self, channels: int):
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, 3, 1, 1, groups=channels)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        b, _, c = x.shape
        # A channels-last view of the tokens (also for b == 1, where transpose + reshape would
        # leave a batch stride that hides the layout): the depth-wise conv then runs on it
        # directly instead of on an NCHW copy, several times faster on CPU, and its
        # channels-last output is the token layout again.
        x = self.dwconv(x.reshape(b, *hw_shape, c).permute(0, 3, 1, 2))
        return x.permute(0, 2, 3, 1).reshape(b, -1, c)


class GridMlp(BaseModule):
    """MLP with a depth-wise 3x3 conv between the two linear layers (PVTv2 ``Mlp``).

    Keys ``fc1``, ``dwconv.dwconv`` (depth-wise Conv2d), ``fc2``.

    Args:
        embed_dims (int): Input and output channels.
        hidden_dims (int): Hidden channels.
        drop_rate (float): Dropout after the activation and after ``fc2``. Defaults to 0.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_dims: int,
                 drop_rate: float = 0.,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.dwconv = DWConv(hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop_rate)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """Args: x (Tensor): (B, H * W, C); hw_shape: (H, W). Returns: (B, H * W, C)."""
        x = self.act(self.dwconv(self.fc1(x), hw_shape))
        return self.drop(self.fc2(self.drop(x)))


class GridBlock(PreNormBlock):
    """Pre-norm transformer block on grid tokens: SR attention, then the depth-wise-conv MLP.

    Args:
        embed_dims (int): Token channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): Hidden channels of the MLP / ``embed_dims``.
        sr_ratio (int): Spatial reduction ratio of the attention. Defaults to 1.
        qkv_bias (bool): Bias in the query/key/value projections. Defaults to True.
        drop_rate (float): Dropout rate after projections. Defaults to 0.
        attn_drop_rate (float): Attention dropout rate. Defaults to 0.
        drop_path_rate (float): Stochastic depth rate of this block. Defaults to 0.
        norm_eps (float): Epsilon of ``norm1`` and ``norm2``. Defaults to 1e-6.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float,
                 sr_ratio: int = 1,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-6,
                 init_cfg: Optional[dict] = None):
        super().__init__(embed_dims,
                         GridAttention(embed_dims,
                                       num_heads,
                                       sr_ratio=sr_ratio,
                                       qkv_bias=qkv_bias,
                                       attn_drop_rate=attn_drop_rate,
                                       proj_drop_rate=drop_rate),
                         GridMlp(embed_dims, int(embed_dims * mlp_ratio), drop_rate=drop_rate),
                         drop_path_rate=drop_path_rate,
                         norm_eps=norm_eps,
                         init_cfg=init_cfg)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """Args: x (Tensor): (B, H * W, C); hw_shape: (H, W). Returns: (B, H * W, C)."""
        x = x + self.drop_path(self.attn(self.norm1(x), hw_shape))
        return x + self.drop_path(self.mlp(self.norm2(x), hw_shape))
