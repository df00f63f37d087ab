"""Transformer block on dynamic tokens (stages 2-4 and the MTA neck): ``TCBlock``."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from tcformer_mm.ops import TokenMapPairs, TokenSet, token2map, token_map_pairs
from .attention import MultiHeadAttention
from .clustering_reduction import ClusteringReduction
from .pre_norm_block import PreNormBlock
from .token_conv import TokenConv

KV_REDUCTIONS = ('sr', 'pool', 'cr', None)


class TCAttention(MultiHeadAttention):
    """Attention from query tokens to key/value tokens of another (or the same) token set.

    Key/value tokens are reduced before the attention (TPAMI Fig. 3b), by ``kv_reduction``:

    - ``'sr'``: the key/value tokens are rendered to a map at the *query's* map size
      (``token2map``), reduced by a ``sr_ratio`` x ``sr_ratio`` strided conv (``sr``) and a
      LayerNorm (``norm``): the released backbone blocks.
    - ``'pool'``: the same map, average-pooled ``sr_ratio`` x ``sr_ratio``; no parameters (the
      released whole-body MTA neck).
    - ``'cr'``: clustering reduction (CR-MTA): the tokens are merged into the distribution of
      ``cr_target`` along the recorded clusterings, then projected
      (:class:`ClusteringReduction`, ``cr``); ``sr_ratio`` is not used.
    - ``None``: the tokens are used directly (what ``sr_ratio == 1`` means for the map-based
      modes).

    When the key/value set carries an importance ``score``, it is added to the attention
    logits (eq. 4); the reductions reduce the score with the features (for the map-based ones
    rendered and average-pooled, as released). Without a score nothing is added.

    A caller that builds the reduced key/value tokens itself passes them as ``reduced_key_value``
    and skips the reduction.

    Args:
        embed_dims (int): Token channels C.
        num_heads (int): Number of heads.
        sr_ratio (int): Reduction ratio. Defaults to 1.
        kv_reduction (str | None): ``'sr'``, ``'pool'``, ``'cr'`` or None, see above.
            ``'sr'`` and ``'pool'`` mean no reduction when ``sr_ratio == 1``.
            Defaults to ``'sr'``.
        cr_projection (bool): For ``'cr'``: project the merged keys/values (Linear +
            LayerNorm + GELU, see :class:`ClusteringReduction`). Defaults to True.
        **kwargs: Passed to :class:`MultiHeadAttention`.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 sr_ratio: int = 1,
                 kv_reduction: Optional[str] = 'sr',
                 cr_projection: bool = True,
                 **kwargs):
        super().__init__(embed_dims, num_heads, **kwargs)
        if kv_reduction not in KV_REDUCTIONS:
            raise ValueError(f'kv_reduction must be one of {KV_REDUCTIONS}, got '
                             f'{kv_reduction!r}.')
        self.sr_ratio = sr_ratio
        self.kv_reduction = kv_reduction if sr_ratio > 1 or kv_reduction == 'cr' else None
        if self.kv_reduction == 'sr':
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio, stride=sr_ratio)
            # PyTorch's default eps, as in the released TCFormer attention.
            self.norm = nn.LayerNorm(embed_dims)
        elif self.kv_reduction == 'cr':
            self.cr = ClusteringReduction(embed_dims, with_proj=cr_projection)

    def reduce(self,
               key_value: TokenSet,
               map_size: Tuple[int, int],
               *,
               pairs: Optional[TokenMapPairs] = None,
               cr_target: Optional[TokenSet] = None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Reduce the key/value tokens.

        Args:
            key_value (TokenSet): Key/value tokens (normalised), ``x`` of shape (B, M, C),
                optionally with ``score`` (B, M, 1).
            map_size (tuple[int, int]): The query's map size: the map the key/value tokens
                are rendered to before a map-based reduction.
            pairs (TokenMapPairs, optional): (pixel, token) pairs of ``key_value`` on
                ``map_size``, when the caller has them already.
            cr_target (TokenSet, optional): For ``'cr'``: the token distribution to merge
                into (the last backbone stage).

        Returns:
            tuple: Reduced features (B, M', C) and score (B, M', 1) or None.
        """
        x, score = key_value.x, key_value.score
        if self.kv_reduction is None:
            return x, score
        if self.kv_reduction == 'cr':
            if cr_target is None:
                raise ValueError("kv_reduction='cr' needs cr_target: the token set whose "
                                 'distribution the keys/values take (the last stage).')
            return self.cr(key_value, cr_target)
        c = x.shape[-1]
        if score is not None:
            # One token2map for features and score: they share the rendering weights.
            x = torch.cat([x, score.to(x.dtype)], dim=-1)
        x_map = token2map(key_value.replace(x=x), map_size, pairs=pairs)
        if score is not None:
            score = F.avg_pool2d(x_map[:, c:], self.sr_ratio, self.sr_ratio)
            score = score.flatten(2).transpose(1, 2)
            x_map = x_map[:, :c]
        if self.kv_reduction == 'sr':
            x = self.norm(self.sr(x_map).flatten(2).transpose(1, 2))
        else:
            x = F.avg_pool2d(x_map, self.sr_ratio, self.sr_ratio).flatten(2).transpose(1, 2)
        return x, score

    def forward(self,
                query: TokenSet,
                key_value: Optional[TokenSet] = None,
                *,
                reduced_key_value: Optional[TokenSet] = None,
                pairs: Optional[TokenMapPairs] = None,
                cr_target: Optional[TokenSet] = None) -> torch.Tensor:
        """Attend.

        Args:
            query (TokenSet): Query tokens (normalised), ``x`` of shape (B, N, C).
            key_value (TokenSet, optional): Key/value tokens (normalised) before reduction.
                Required unless ``reduced_key_value`` is given.
            reduced_key_value (TokenSet, optional): Already-reduced key/value tokens, used as they
                are: ``x`` (B, M, C) and, if set, ``score`` (B, M, 1) added to the logits.
            pairs (TokenMapPairs, optional): (pixel, token) pairs of ``key_value`` on the
                query's map, when the caller has them already.
            cr_target (TokenSet, optional): For ``'cr'``: the distribution to merge into.

        Returns:
            Tensor: New query features, shape (B, N, C).
        """
        if reduced_key_value is not None:
            kv, score = reduced_key_value.x, reduced_key_value.score
        else:
            kv, score = self.reduce(key_value, query.map_size, pairs=pairs, cr_target=cr_target)
        return self.attend(query.x, kv, score)


class TCMlp(BaseModule):
    """MLP with a depth-wise :class:`TokenConv` between the two linear layers.

    Keys ``fc1``, ``dwconv.weight``/``dwconv.bias``/``dwconv.skip.weight``, ``fc2``.

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
        self.dwconv = TokenConv(hidden_dims,
                                hidden_dims,
                                kernel_size=3,
                                padding=1,
                                groups=hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop_rate)

    def forward(self, tokens: TokenSet, *, pairs: Optional[TokenMapPairs] = None) -> torch.Tensor:
        """Run the MLP.

        Args:
            tokens (TokenSet): ``x`` (B, N, C), normalised.
            pairs (TokenMapPairs, optional): (pixel, token) pairs of ``tokens`` on their map.

        Returns:
            Tensor: (B, N, C).
        """
        x = self.act(self.dwconv(tokens.replace(x=self.fc1(tokens.x)), pairs=pairs))
        return self.drop(self.fc2(self.drop(x)))


class TCBlock(PreNormBlock):
    """Pre-norm transformer block on dynamic tokens (TPAMI Fig. 3a).

    Same keys as the grid block except the MLP's depth-wise conv, a :class:`TokenConv`
    (``mlp.dwconv.weight``/``bias``/``skip.weight``). The first block of a stage attends from
    the merged tokens (queries) to the pre-merge tokens with their importance score (keys and
    values, Fig. 4); the other blocks attend within one token set.

    Args:
        embed_dims (int): Token channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): Hidden channels of the MLP / ``embed_dims``.
        sr_ratio (int): Key/value reduction ratio. Defaults to 1.
        kv_reduction (str | None): ``'sr'``, ``'pool'``, ``'cr'`` or None, see
            :class:`TCAttention`. Defaults to ``'sr'``.
        cr_projection (bool): For ``'cr'``, see :class:`TCAttention`. Defaults to True.
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
                 kv_reduction: Optional[str] = 'sr',
                 cr_projection: bool = True,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-6,
                 init_cfg: Optional[dict] = None):
        super().__init__(embed_dims,
                         TCAttention(embed_dims,
                                     num_heads,
                                     sr_ratio=sr_ratio,
                                     kv_reduction=kv_reduction,
                                     cr_projection=cr_projection,
                                     qkv_bias=qkv_bias,
                                     attn_drop_rate=attn_drop_rate,
                                     proj_drop_rate=drop_rate),
                         TCMlp(embed_dims, int(embed_dims * mlp_ratio), drop_rate=drop_rate),
                         drop_path_rate=drop_path_rate,
                         norm_eps=norm_eps,
                         init_cfg=init_cfg)

    def forward(self,
                query: TokenSet,
                key_value: Optional[TokenSet] = None,
                *,
                reduced_key_value: Optional[TokenSet] = None,
                cr_target: Optional[TokenSet] = None,
                pairs: Optional[TokenMapPairs] = None,
                kv_pairs: Optional[TokenMapPairs] = None) -> TokenSet:
        """Run the block.

        Args:
            query (TokenSet): Query tokens, ``x`` of shape (B, N, C).
            key_value (TokenSet, optional): Key/value tokens, normalised here with ``norm1``
                like the queries. None: self-attention within ``query``.
            reduced_key_value (TokenSet, optional): Already normalised and reduced key/value tokens
                (e.g. from a clustering reduction, made from ``norm1`` outputs by the caller);
                replaces ``key_value`` and the reduction.
            cr_target (TokenSet, optional): With ``kv_reduction='cr'``: the token set whose
                distribution the keys/values are merged into (the last backbone stage).
            pairs (TokenMapPairs, optional): ``token_map_pairs(query)``, when the caller has
                them already: the token distribution does not change within a stage, so a
                stage computes them once for all its blocks. Computed here when None.
            kv_pairs (TokenMapPairs, optional): ``token_map_pairs(key_value,
                query.map_size)``, when the caller has them already (the CTM's).

        Returns:
            TokenSet: ``query`` with new features ``x`` (B, N, C).
        """
        x = query.x
        q = query.replace(x=self.norm1(x))
        # The query's (pixel, token) pairs on its own map serve the MLP's token conv and, in
        # self-attention, the key/value reduction: computed once per block unless given.
        if pairs is None and not query.is_grid:
            pairs = token_map_pairs(query)
        if reduced_key_value is not None:
            kv = None
        elif key_value is None:
            kv, kv_pairs = q, pairs
        else:
            kv = key_value.replace(x=self.norm1(key_value.x))
        x = x + self.drop_path(
            self.attn(
                q, kv, reduced_key_value=reduced_key_value, pairs=kv_pairs, cr_target=cr_target))
        x = x + self.drop_path(self.mlp(query.replace(x=self.norm2(x)), pairs=pairs))
        return query.replace(x=x)
