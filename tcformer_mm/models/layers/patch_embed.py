"""Overlapping patch embedding of the first stage (PVTv2 style, no position embedding)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule


class OverlapPatchEmbed(BaseModule):
    """Image to grid tokens with an overlapping strided convolution.

    Keys ``proj.*`` (Conv2d) and ``norm.*`` (LayerNorm) as in the released checkpoints
    (``patch_embed1.proj``, ``patch_embed1.norm``; ``stages.0.downsample`` in :class:`TCFormer`).

    Args:
        in_channels (int): Input image channels.
        embed_dims (int): Output token channels.
        kernel_size (int): Convolution kernel size. Defaults to 7.
        stride (int): Convolution stride. Defaults to 4.
        norm_eps (float): LayerNorm epsilon. The released model uses PyTorch's default here
            (1e-5), unlike the block norms. Defaults to 1e-5.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 3,
                 embed_dims: int = 64,
                 kernel_size: int = 7,
                 stride: int = 4,
                 norm_eps: float = 1e-5,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Conv2d(in_channels,
                              embed_dims,
                              kernel_size=kernel_size,
                              stride=stride,
                              padding=kernel_size // 2)
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Embed an image batch.

        Args:
            x (Tensor): Images, shape (B, C_in, H_img, W_img).

        Returns:
            tuple: Tokens of shape (B, H * W, C) in raster order and the map size (H, W),
            where H = (H_img - 1) // stride + 1 for the default kernel/padding.
        """
        x = self.proj(x)
        h, w = x.shape[-2:]
        x = self.norm(x.flatten(2).transpose(1, 2))
        return x, (h, w)
