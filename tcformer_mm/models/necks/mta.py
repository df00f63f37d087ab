"""Multi-stage Token Aggregation neck: MTA (SR-MTA, TCFormerV1) and CR-MTA (TCFormerV2)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from tcformer_mm.ops import TokenMapPairs, TokenSet, token2map, token2token, token_map_pairs
from tcformer_mm.registry import register_module
from ..layers import TCBlock
from ..layers.tc_block import KV_REDUCTIONS as BLOCK_KV_REDUCTIONS
from ..weight_init import released_init

#: The merge blocks' reductions but None. A block without reduction is what an ``sr_ratios``
#: entry of 1 gives, level by level ('sr', 'pool'); None for the whole neck would be full
#: attention on every level, the stride-4 one included, which no TCFormer neck does.
KV_REDUCTIONS = tuple(r for r in BLOCK_KV_REDUCTIONS if r is not None)
EXTRA_CONVS = ('on_input', 'on_lateral', 'on_output')
OUTPUT_FORMATS = ('maps', 'tokens')


def _per_level(value, num_levels: int, name: str) -> list:
    """Broadcast a scalar setting to every level, or check a per-level sequence's length."""
    if isinstance(value, (list, tuple)):
        if len(value) < num_levels:
            raise ValueError(f'MTA: {name} needs a value for each of the {num_levels} levels, '
                             f'got {list(value)}')
        return list(value)
    return [value] * num_levels


def _check_heads(heads, channels: int, level: int) -> None:
    """A merge block's head count must be a positive integer that divides its channels."""
    if isinstance(heads, bool) or not isinstance(heads, int) or heads < 1 or channels % heads:
        divisors = [d for d in range(1, channels + 1) if channels % d == 0]
        raise ValueError(f'MTA: num_heads of level {level} must be a positive integer dividing '
                         f'out_channels {channels} (one of {divisors}), got {heads!r}')


@register_module()
class MTA(BaseModule):
    """Multi-stage Token Aggregation (TPAMI sections 3.1.3 and 3.2.2, CVPR section 3.4).

    An FPN for dynamic tokens, with FPN's interface so it drops in where FPN stood. A 1x1
    lateral conv maps the tokens of every used stage to ``out_channels``. Top-down from the
    last stage, the tokens of level i+1 are up-sampled into the token distribution of level i
    through the recorded clustering (``token2token``), added to the lateral tokens of level i,
    and a dynamic-token transformer block (a merge block) aggregates them. Every level is
    finally rendered to a feature map at its stride (4, 8, 16, 32 for TCFormer) and extra levels
    are added as mmdet's FPN does (max-pool, or stride-2 3x3 convs).

    The merge blocks reduce their keys and values by ``kv_reduction``:

    - ``'sr'``: a strided conv + LayerNorm on the feature map (SR-MTA, TCFormerV1).
    - ``'pool'``: average pooling of the feature map, no parameters (the released whole-body
      MTA head).
    - ``'cr'``: clustering reduction (CR-MTA, TCFormerV2): the level's tokens are merged into
      the last stage's token distribution through the recorded clusterings, then projected
      (Linear + LayerNorm + GELU); as many keys as last-stage tokens, aligned with objects, and
      no extra clustering. The merge itself has no parameters; the projection
      (``cr_projection``) is what reproduces the CR-MTA parameter count of TPAMI Table VIII
      (28.4M, against 28.2M without it).

    Args:
        in_channels (list[int]): Channels of each backbone stage.
        out_channels (int): Channels of every output level.
        num_outs (int): Number of output levels.
        start_level (int): First backbone level used. Defaults to 0.
        end_level (int): Last backbone level used (inclusive); -1 for the last one.
            Defaults to -1.
        add_extra_convs (bool | str): Extra levels by stride-2 3x3 convs on ``'on_input'``
            (the last used backbone level), ``'on_lateral'`` or ``'on_output'``; ``True`` means
            ``'on_input'``; ``False`` adds extra levels by max-pooling. Defaults to False.
        relu_before_extra_convs (bool): ReLU before every extra conv but the first.
            Defaults to False.
        no_norm_on_lateral (bool): No norm in the lateral convs. Defaults to False.
        conv_cfg (dict, optional): Conv config of the lateral and extra convs.
        norm_cfg (dict, optional): Norm config of the lateral and extra convs.
        act_cfg (dict, optional): Activation config of the lateral and extra convs.
        num_heads (int | Sequence[int]): Heads of each merge block. Defaults to 4.
        mlp_ratios (float | Sequence[float]): MLP ratio of each merge block. Defaults to 4.
        sr_ratios (int | Sequence[int]): Key/value reduction ratio of each merge block, per
            backbone level (``'sr'`` and ``'pool'``). Defaults to (8, 4, 2, 1).
        kv_reduction (str): ``'sr'``, ``'pool'`` or ``'cr'``. Defaults to ``'sr'``.
        cr_projection (bool): With ``'cr'``, project the merged keys/values. Defaults to True.
        qkv_bias (bool): Bias in the merge blocks' q/kv projections. Defaults to True.
        drop_rate (float): Dropout rate in the merge blocks. Defaults to 0.
        attn_drop_rate (float): Attention dropout rate. Defaults to 0.
        drop_path_rate (float): Stochastic depth rate of every merge block. Defaults to 0.
        out_indices (Sequence[int], optional): Output levels to return (after the extra
            levels are added), e.g. ``(0, )`` to hand mmpose's heatmap head, which reads the
            last feature, the stride-4 map. Defaults to None (all).
        output_format (str): ``'maps'``: a tuple of (B, C, H, W) maps; ``'tokens'``: a tuple
            of :class:`TokenSet` per backbone level (no extra levels), for consumers that work
            on tokens (a Mask2Former pixel-decoder adapter). Defaults to ``'maps'``.
        init_cfg (dict | list[dict], optional): Initialization config.

    Inputs:
        tuple[TokenSet]: The backbone's token sets (``TCFormer(output_format='tokens')``),
        one per backbone level, ``x`` of shape (B, N_i, in_channels[i]).

    Outputs:
        tuple[Tensor]: ``num_outs`` maps (B, out_channels, H_i, W_i), or the token sets.
    """

    def __init__(self,
                 in_channels: List[int],
                 out_channels: int,
                 num_outs: int,
                 start_level: int = 0,
                 end_level: int = -1,
                 add_extra_convs: Union[bool, str] = False,
                 relu_before_extra_convs: bool = False,
                 no_norm_on_lateral: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 num_heads: Union[int, Sequence[int]] = 4,
                 mlp_ratios: Union[float, Sequence[float]] = 4,
                 sr_ratios: Union[int, Sequence[int]] = (8, 4, 2, 1),
                 kv_reduction: str = 'sr',
                 cr_projection: bool = True,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 out_indices: Optional[Sequence[int]] = None,
                 output_format: str = 'maps',
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(type='Xavier',
                                                                    layer='Conv2d',
                                                                    distribution='uniform')):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f'MTA: in_channels must be a list, got {in_channels!r}')
        if kv_reduction not in KV_REDUCTIONS:
            raise ValueError(f'MTA: kv_reduction must be one of {KV_REDUCTIONS}, got '
                             f'{kv_reduction!r}')
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f'MTA: output_format must be one of {OUTPUT_FORMATS}, got '
                             f'{output_format!r}')
        if isinstance(num_outs, bool) or not isinstance(num_outs, int) or num_outs < 1:
            raise ValueError(f'MTA: num_outs must be a positive integer (the number of output '
                             f'levels), got {num_outs!r}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.kv_reduction = kv_reduction
        self.output_format = output_format

        if not 0 <= start_level < self.num_ins:
            raise ValueError(f'MTA: start_level {start_level} must index one of the '
                             f'{self.num_ins} input levels (0..{self.num_ins - 1})')
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(f'MTA: num_outs ({num_outs}) must cover the used levels '
                                 f'{start_level}..{self.num_ins - 1}')
        else:
            self.backbone_end_level = end_level + 1
            if not (start_level <= end_level < self.num_ins
                    and num_outs == end_level - start_level + 1):
                raise ValueError(f'MTA: end_level {end_level} needs start_level <= end_level < '
                                 f'{self.num_ins} and num_outs == end_level - start_level + 1')
        self.start_level = start_level
        self.end_level = end_level

        if isinstance(add_extra_convs, str):
            if add_extra_convs not in EXTRA_CONVS:
                raise ValueError(f'MTA: add_extra_convs must be a bool or one of {EXTRA_CONVS}, '
                                 f'got {add_extra_convs!r}')
        elif add_extra_convs:
            add_extra_convs = 'on_input'
        self.add_extra_convs = add_extra_convs
        if out_indices is not None:
            out_indices = tuple(out_indices)
            if not out_indices:
                raise ValueError(f'MTA: out_indices selects no output level: expected at least '
                                 f'one index in [0, {num_outs}) (or None for all), got ()')
            if not all(0 <= i < num_outs for i in out_indices):
                raise ValueError(f'MTA: out_indices {out_indices} must lie in [0, {num_outs})')
        self.out_indices = out_indices

        levels = range(self.start_level, self.backbone_end_level)
        heads = _per_level(num_heads, self.num_ins, 'num_heads')
        for i in levels[:-1]:  # the levels with a merge block
            _check_heads(heads[i], out_channels, i)
        mlp_ratios = _per_level(mlp_ratios, self.num_ins, 'mlp_ratios')
        sr_ratios = _per_level(sr_ratios, self.num_ins, 'sr_ratios')
        self.lateral_convs = nn.ModuleList(
            ConvModule(in_channels[i],
                       out_channels,
                       1,
                       conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg if not no_norm_on_lateral else None,
                       act_cfg=act_cfg,
                       inplace=False) for i in levels)
        # One merge block per level below the top one: the top level has nothing to add.
        self.merge_blocks = nn.ModuleList(
            TCBlock(
                out_channels,
                heads[i],
                mlp_ratios[i],
                sr_ratio=1 if kv_reduction == 'cr' else sr_ratios[i],
                kv_reduction=kv_reduction,
                cr_projection=cr_projection,
                qkv_bias=qkv_bias,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                drop_path_rate=drop_path_rate,
                # PyTorch's default, as in the released neck (the backbone's blocks use 1e-6).
                norm_eps=1e-5) for i in levels[:-1])

        # Extra convs are built only when used: an unused parameter breaks DDP.
        self.extra_convs = nn.ModuleList()
        extra_levels = num_outs - self.backbone_end_level + self.start_level
        if self.add_extra_convs and extra_levels >= 1 and output_format == 'maps':
            for i in range(extra_levels):
                in_ch = (self.in_channels[self.backbone_end_level - 1]
                         if i == 0 and self.add_extra_convs == 'on_input' else out_channels)
                self.extra_convs.append(
                    ConvModule(in_ch,
                               out_channels,
                               3,
                               stride=2,
                               padding=1,
                               conv_cfg=conv_cfg,
                               norm_cfg=norm_cfg,
                               act_cfg=act_cfg,
                               inplace=False))

    def init_weights(self):
        """Initialize as the released neck: first what its constructor did (Linear truncated
        normal std 0.02 with zero bias, LayerNorm 1 / 0, Conv2d fan-out normal), then
        ``init_cfg`` (by default Xavier-uniform on every Conv2d, the merge blocks' token
        convolutions included) and the submodules' own ``init_weights`` (mmcv's ``ConvModule``
        re-initialises the lateral and extra convs, as it did in the released neck)."""
        if not self._is_init:
            released_init(self)
        super().init_weights()

    def _lateral(self, conv: ConvModule, tokens: TokenSet) -> TokenSet:
        # The 1x1 conv on tokens as a (B, C, N, 1) map: the released key layout (conv.weight is
        # a Conv2d kernel) with norm/activation support from ConvModule.
        x = conv(tokens.x.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)
        return tokens.replace(x=x, score=None)

    def forward(self, inputs: Sequence[TokenSet]) -> Tuple:
        """Aggregate the stages.

        Args:
            inputs (Sequence[TokenSet]): One token set per backbone level.

        Returns:
            tuple[Tensor] | tuple[TokenSet]: See the class docstring.
        """
        if len(inputs) != self.num_ins:
            raise ValueError(f'MTA: expected {self.num_ins} token sets (in_channels), got '
                             f'{len(inputs)}')
        if not all(isinstance(t, TokenSet) for t in inputs):
            raise TypeError('MTA: inputs must be TokenSets; build the backbone with '
                            "output_format='tokens'")
        widths = [t.x.shape[-1] for t in inputs]
        if widths != self.in_channels:
            raise ValueError(f'MTA: in_channels is {self.in_channels}, but the token sets have '
                             f'{widths} channels')
        levels = [
            self._lateral(conv, inputs[i + self.start_level])
            for i, conv in enumerate(self.lateral_convs)
        ]
        top = levels[-1]
        # A level's token distribution is fixed here: its (pixel, token) pairs (the backbone's,
        # where it made them) serve its merge block and its output map.
        pairs = [
            None if tokens.is_grid else tokens.pairs or token_map_pairs(tokens) for tokens in levels
        ]
        for i in range(len(levels) - 2, -1, -1):
            upsampled = levels[i].replace(x=levels[i].x + token2token(levels[i + 1], levels[i]))
            cr_target = top if self.kv_reduction == 'cr' else None
            levels[i] = self.merge_blocks[i](upsampled, cr_target=cr_target, pairs=pairs[i])
        if self.output_format == 'tokens':
            return tuple(levels)
        outs = [token2map(tokens, pairs=p) for tokens, p in zip(levels, pairs)]
        outs.extend(self._extra_levels(inputs, levels, outs, pairs[-1]))
        if self.out_indices is not None:
            outs = [outs[i] for i in self.out_indices]
        return tuple(outs)

    def _extra_levels(self, inputs: Sequence[TokenSet], levels: List[TokenSet], outs: List[Tensor],
                      top_pairs: Optional[TokenMapPairs]) -> List[Tensor]:
        """Levels beyond the backbone's, as mmdet's FPN adds them (``top_pairs``: the pairs of
        the last level, whose distribution the last backbone level shares)."""
        num_extra = self.num_outs - len(outs)
        if num_extra <= 0:
            return []
        if not self.add_extra_convs:
            extra = [F.max_pool2d(outs[-1], 1, stride=2)]
            for _ in range(1, num_extra):
                extra.append(F.max_pool2d(extra[-1], 1, stride=2))
            return extra
        if self.add_extra_convs == 'on_input':
            source = token2map(inputs[self.backbone_end_level - 1], pairs=top_pairs)
        elif self.add_extra_convs == 'on_lateral':
            source = token2map(levels[-1], pairs=top_pairs)
        else:
            source = outs[-1]
        extra = [self.extra_convs[0](source)]
        for conv in self.extra_convs[1:]:
            extra.append(conv(F.relu(extra[-1]) if self.relu_before_extra_convs else extra[-1]))
        return extra
