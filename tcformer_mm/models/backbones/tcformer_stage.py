"""One stage of the TCFormer backbone: down-sampling, blocks, norm.

The stage lives next to the backbone rather than in ``models/layers``: it is no reusable layer
but the backbone's unit of structure (as ``PVTEncoderLayer`` lists are in mmdet's PVT and
``PyramidVisionTransformerStage`` is in timm's PVTv2), and what it hands on (the token set and
its pixel pairs) is the backbone's contract between stages.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule

from tcformer_mm.ops import TokenMapPairs, TokenSet, pairs_for, token_map_pairs
from ..layers import OverlapPatchEmbed


class TCFormerStage(BaseModule):
    """A TCFormer stage: down-sampling, blocks and the stage's LayerNorm.

    Two kinds, told apart by the down-sampling:

    - grid stage (``downsample`` an :class:`OverlapPatchEmbed`: stage 0, and every stage of a
      backbone without CTM): the patch embedding of the images (stage 0) or of the previous
      stage's grid tokens drawn as a map, then :class:`GridBlock` s on the (H_i, W_i) grid;
    - dynamic-token stage (``downsample`` a :class:`CTM`: stages 1-3): the CTM merges the
      previous stage's tokens to a quarter, then :class:`TCBlock` s, of which only the first
      attends to the pre-merge tokens and their importance score (Fig. 4).

    Args:
        downsample (nn.Module): :class:`OverlapPatchEmbed` or :class:`CTM`.
        blocks (nn.ModuleList): The stage's :class:`GridBlock` s or :class:`TCBlock` s.
        norm (nn.Module): LayerNorm of the stage's output tokens.
        with_cp (bool): Gradient checkpointing of every block while training. Defaults to False.
        init_cfg (dict | list[dict], optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 downsample: nn.Module,
                 blocks: nn.ModuleList,
                 norm: nn.Module,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        self.downsample = downsample
        self.blocks = blocks
        self.norm = norm
        self.with_cp = with_cp
        self.on_grid = isinstance(downsample, OverlapPatchEmbed)

    def _run_block(self, block: nn.Module, *args, **kwargs):
        if self.with_cp and self.training and torch.is_grad_enabled():
            return cp.checkpoint(block, *args, use_reentrant=False, **kwargs)
        return block(*args, **kwargs)

    def forward(self,
                x: Union[torch.Tensor, TokenSet],
                pairs: Optional[TokenMapPairs] = None) -> Tuple[TokenSet, Optional[TokenMapPairs]]:
        """Forward.

        Args:
            x (Tensor | TokenSet): Images (B, C_in, H, W) for stage 0, else the previous
                stage's tokens (``x`` of shape (B, N_{i-1}, C_{i-1})).
            pairs (TokenMapPairs, optional): The (pixel, token) pairs of the previous stage's
                tokens on their map (None for grid tokens), which the CTM reuses.

        Returns:
            tuple: The stage's tokens (``x`` of shape (B, N_i, C_i), normalised, carrying
            their (pixel, token) pairs for the neck) and these pairs, None for grid tokens.
        """
        if self.on_grid:
            return self._grid_forward(x), None
        # The pre-merge tokens on the merged map: the CTM's strided conv reads its output back
        # through these pairs, and the first block renders its keys/values through them. Where
        # the merged map halves the tokens' own map, these are the own map's pairs.
        kv_pairs = pairs_for(x, self.downsample.merged_map_size(x.map_size), pairs)
        query, key_value = self.downsample(x, pairs=pairs, down_pairs=kv_pairs)
        # The token distribution is fixed within a stage: the (pixel, token) pairs of the
        # stage's tokens on their map serve every block, the output map and the next CTM.
        pairs = token_map_pairs(query)
        for block in self.blocks:
            # Only the first block attends to the pre-merge tokens (Fig. 4).
            query = self._run_block(block, query, key_value, pairs=pairs, kv_pairs=kv_pairs)
            key_value = kv_pairs = None
        return query.replace(x=self.norm(query.x), pairs=pairs), pairs

    def _grid_forward(self, x: Union[torch.Tensor, TokenSet]) -> TokenSet:
        init_grid_size = None  # stage 0: the grid is the stage-1 grid
        if isinstance(x, TokenSet):
            init_grid_size = x.init_grid_size
            B, _, C = x.x.shape
            x = x.x.transpose(1, 2).reshape(B, C, *x.map_size)
        x, hw_shape = self.downsample(x)
        for block in self.blocks:
            x = self._run_block(block, x, hw_shape)
        return TokenSet.from_grid(self.norm(x), hw_shape, init_grid_size)
