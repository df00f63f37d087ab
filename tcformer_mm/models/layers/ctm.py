"""Clustering-based Token Merge (CTM) module (TPAMI sections 3.1.2 and 3.2.1)."""
from typing import Optional, Tuple, Union

import torch.nn as nn
from mmengine.model import BaseModule

from tcformer_mm.ops import TokenMapPairs, TokenSet, build_clustering, merge_tokens
from tcformer_mm.ops.clustering import ClusteringMethod
from .token_conv import TokenConv


class CTM(BaseModule):
    """Clustering-based Token Merge.

    Down-samples the tokens with a stride-2 :class:`TokenConv` (``conv``) and a LayerNorm
    (``norm``), predicts an importance score per token (``score``, Linear C_out->1), clusters
    the tokens (DPC-kNN by default; local when ``num_parts > 1``) and merges every cluster into
    one token by the score-weighted average of eq. 3.

    The clustering method holds no weights: :meth:`set_clustering` swaps it on a trained model
    (TPAMI Table IX).

    Args:
        in_channels (int): Channels of the input tokens.
        out_channels (int): Channels of the merged tokens.
        num_parts (int): Spatial parts clustered separately (local CTM); 1 is global
            clustering. Defaults to 1.
        clustering (dict | str | ClusteringMethod): A registered clustering method
            (``CLUSTERING_METHODS``) by name or config, e.g. ``dict(type='dpc_knn', k=5,
            ratio=0.25)`` (its arguments and defaults are the method's), or a built one.
            Defaults to ``'dpc_knn'``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_parts: int = 1,
                 clustering: Union[dict, str, ClusteringMethod] = 'dpc_knn',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.num_parts = num_parts
        self.conv = TokenConv(in_channels, out_channels, kernel_size=3, stride=2, padding=1)
        # PyTorch's default eps, as in the released CTM.
        self.norm = nn.LayerNorm(out_channels)
        self.score = nn.Linear(out_channels, 1)
        self.set_clustering(clustering)

    def set_clustering(self, clustering: Union[dict, str, ClusteringMethod]) -> None:
        """Replace the clustering method; weights are untouched.

        Args:
            clustering (dict | str | ClusteringMethod): Config for ``build_clustering`` or a
                built method.
        """
        # A plain attribute, not a submodule: the methods hold no weights, so swapping one
        # never changes the state dict.
        self.clustering = build_clustering(clustering)

    @staticmethod
    def merged_map_size(map_size: Tuple[int, int]) -> Tuple[int, int]:
        """(H', W') of the merged tokens' map: the stride-2 conv's output size."""
        h, w = map_size
        return (h - 1) // 2 + 1, (w - 1) // 2 + 1

    def forward(self,
                tokens: TokenSet,
                *,
                pairs: Optional[TokenMapPairs] = None,
                down_pairs: Optional[TokenMapPairs] = None) -> Tuple[TokenSet, TokenSet]:
        """Merge the tokens.

        Args:
            tokens (TokenSet): Tokens of the previous stage, ``x`` of shape (B, N, C_in) on
                the map ``tokens.map_size`` = (H, W).
            pairs (TokenMapPairs, optional): ``token_map_pairs(tokens)``, when the caller has
                them already (the stage that made ``tokens``).
            down_pairs (TokenMapPairs, optional): ``token_map_pairs(tokens,
                self.merged_map_size(tokens.map_size))``, through which the strided conv reads
                its output back into the tokens, when the caller has them already (the stage
                shares them with its first block).

        Returns:
            tuple[TokenSet, TokenSet]:

            - merged: ``x`` (B, N', C_out), N' as the clustering decides (ceil(N / 4) for
              global DPC-kNN), on the map ((H - 1) // 2 + 1, (W - 1) // 2 + 1), no score,
              ``parts`` = ``num_parts`` (the clusterings leave the tokens part-major: the next
              CTM sizes its parts from the shapes).
            - source: the input tokens with ``x`` (B, N, C_out) = the down-sampled, normalised
              features and ``score`` (B, N, 1): the keys/values of the next stage's first block.
        """
        x = self.norm(self.conv(tokens, pairs=pairs, out_pairs=down_pairs))
        score = self.score(x)
        source = tokens.replace(x=x, score=score)
        clusters = self.clustering(source, self.num_parts)
        merged = merge_tokens(source, clusters, self.merged_map_size(tokens.map_size), score=score)
        return merged, source
