"""Convolution on dynamic tokens (TokenConv)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from tcformer_mm.ops import TokenMapPairs, TokenSet, map2token, token2map


class TokenConv(nn.Conv2d):
    """A Conv2d applied to dynamic tokens, plus a 1x1 skip on the tokens themselves.

    The tokens are rendered to a feature map at ``tokens.map_size`` (``token2map``), convolved,
    and the result is read back into the same tokens (``map2token``, which also handles a
    strided conv: the map is then smaller than ``tokens.map_size``); a caller that has the
    (pixel, token) pairs of the tokens (``ops.token_map_pairs``) passes them. A bias-free 1x1
    Conv1d on the tokens (``skip``) is added, so a token keeps its own feature even where the
    map averages it with its neighbours. Keys: ``weight``, ``bias`` (the Conv2d) and
    ``skip.weight`` of shape (C_out, C_in / groups, 1), as released.

    Args are those of :class:`torch.nn.Conv2d`.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size,
                 stride=1,
                 padding=0,
                 dilation=1,
                 groups: int = 1,
                 bias: bool = True,
                 padding_mode: str = 'zeros'):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode)
        self.skip = nn.Conv1d(in_channels, out_channels, 1, bias=False, groups=groups)

    def _add_skip(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``out + skip(x)``. A 1x1 Conv1d is a matmul (dense) or a per-channel scale
        (depth-wise): computed so, it avoids two transposes and grouped-conv kernels that are
        slow on CPU, and the depth-wise scale fuses with the sum."""
        weight = self.skip.weight
        if self.groups == 1:
            return out + F.linear(x, weight.squeeze(-1))
        if self.groups == self.in_channels == self.out_channels:
            return torch.addcmul(out, x, weight.view(-1).to(x.dtype))
        return out + self.skip(x.transpose(1, 2)).transpose(1, 2)

    def forward(
            self,  # type: ignore[override]
            tokens: TokenSet,
            *,
            pairs: Optional[TokenMapPairs] = None,
            out_pairs: Optional[TokenMapPairs] = None) -> torch.Tensor:
        """Convolve the tokens.

        Args:
            tokens (TokenSet): Input tokens, ``x`` of shape (B, N, C_in).
            pairs (TokenMapPairs, optional): (pixel, token) pairs of ``tokens`` on their map,
                when the caller has them already.
            out_pairs (TokenMapPairs, optional): (pixel, token) pairs of ``tokens`` on the
                conv's output map, for a strided conv, when the caller has them already.

        Returns:
            Tensor: New features of the same tokens, shape (B, N, C_out).
        """
        x_map = super().forward(token2map(tokens, pairs=pairs))
        out_pairs = pairs if out_pairs is None else out_pairs
        return self._add_skip(map2token(x_map, tokens, pairs=out_pairs), tokens.x)
