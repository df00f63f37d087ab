"""Clustering Token Reduction (CR layer) of CR-MTA (TPAMI section 3.2.2)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from tcformer_mm.ops import TokenSet, token2token


class ClusteringReduction(BaseModule):
    """Reduce key/value tokens by merging them along the recorded clusterings.

    The tokens (of an MTA level) are averaged into the token distribution of ``target`` (the
    last backbone stage) with ``token2token``: every target token takes the mean of the tokens
    covering its cells, weighted by the recorded aggregation weights. Since all of a level's
    cells that form one last-stage token were merged into it by the CTMs, this is the merge
    the clusterings already made, applied to the level's features: as many keys as the last
    stage has tokens, aligned with objects, and no new clustering. A Linear + LayerNorm + GELU
    then adapts the merged features (the aggregation of the authors' development code; with
    it the CR-MTA parameter count of TPAMI Table VIII is reproduced, see
    ``docs/design.md``). Keys: ``proj.*``, ``norm.*``.

    Args:
        embed_dims (int): Token channels.
        with_proj (bool): Apply the Linear + LayerNorm + GELU after the merge. False leaves the
            layer without parameters: the merge alone. Defaults to True.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self, embed_dims: int, with_proj: bool = True, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.with_proj = with_proj
        if with_proj:
            self.proj = nn.Linear(embed_dims, embed_dims)
            self.norm = nn.LayerNorm(embed_dims)
            self.act = nn.GELU()

    def forward(self, tokens: TokenSet,
                target: TokenSet) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Merge ``tokens`` into the distribution of ``target``.

        Args:
            tokens (TokenSet): Key/value tokens (normalised), ``x`` (B, N, C), optional
                ``score`` (B, N, 1); same initial grid as ``target``.
            target (TokenSet): The distribution to merge into (M tokens); its features are
                not used.

        Returns:
            tuple: Reduced features (B, M, C) and the score merged the same way (B, M, 1), or
            None when ``tokens`` has no score.
        """
        x, score = tokens.x, tokens.score
        c = x.shape[-1]
        if score is not None:
            x = torch.cat([x, score.to(x.dtype)], dim=-1)
        merged = token2token(tokens.replace(x=x), target)
        if score is not None:
            merged, score = merged[..., :c], merged[..., c:]
        if self.with_proj:
            merged = self.act(self.norm(self.proj(merged)))
        return merged, score
