"""MTA as the pixel decoder of Mask2Former (TPAMI section 4.3, Table VI)."""
import copy
from typing import List, Optional, Sequence, Tuple, Union

from mmcv.cnn import Conv2d
from mmengine.model import BaseModule, caffe2_xavier_init
from torch import Tensor

from tcformer_mm.ops import TokenSet
from tcformer_mm.registry import register_module
from .mta import MTA

#: Keys of ``encoder`` that configure the MTA merge blocks.
MTA_KEYS = ('num_heads', 'mlp_ratios', 'sr_ratios', 'kv_reduction', 'cr_projection', 'qkv_bias',
            'drop_rate', 'attn_drop_rate', 'drop_path_rate')


@register_module()
class MTAPixelDecoder(BaseModule):
    """Multi-stage Token Aggregation in place of Mask2Former's pixel decoder.

    The drop-in for mmdet's ``MSDeformAttnPixelDecoder`` inside mmdet's (and mmseg's)
    ``Mask2FormerHead``: the head builds it with the ``in_channels``, ``feat_channels`` and
    ``out_channels`` it injects, calls :meth:`init_weights`, and reads back
    ``(mask_features, multi_scale_memorys)``. An :class:`MTA` (``feat_channels`` wide, one
    level per backbone stage) aggregates the backbone's token sets top-down through the
    recorded clusterings, as the deformable-attention encoder aggregates the grid levels in
    the original decoder; the levels are rendered to maps at the backbone strides. As there, a
    1x1 conv on the stride-4 map gives the mask features and the ``num_outs`` coarsest maps
    are the memories of the transformer decoder, coarsest first.

    Args:
        in_channels (Sequence[int]): Channels of the backbone stages (injected by the head).
        feat_channels (int): Channels of the MTA levels and the memories (injected).
        out_channels (int): Channels of the mask features (injected).
        num_outs (int): Memories handed to the transformer decoder; must equal the head's
            ``num_transformer_feat_level``. Defaults to 3.
        strides (Sequence[int]): Backbone strides, finest first; only checked against
            ``in_channels``. Defaults to (4, 8, 16, 32).
        encoder (dict): Settings of the MTA merge blocks: any of ``num_heads``,
            ``mlp_ratios``, ``sr_ratios``, ``kv_reduction`` (``'sr'``, ``'pool'``, ``'cr'``),
            ``cr_projection``, ``qkv_bias`` and the drop rates (see :class:`MTA`). It may carry
            ``layer_cfg=dict(self_attn_cfg=dict(num_levels=...))``, the key mmdet's head
            reads (and asserts to be ``num_transformer_feat_level``) from every pixel decoder
            config; it must then equal ``num_outs``. Defaults to CR-MTA with MLP ratio 4.
        norm_cfg (dict, optional): Norm of the MTA lateral convs. Defaults to GroupNorm with
            32 groups, as the convs of mmdet's ``MSDeformAttnPixelDecoder``: the transformer
            decoder reads the levels directly, and un-normalised laterals train far slower
            (the tiny Mask2Former's figures: see docs/benchmarks.md).
        act_cfg (dict, optional): Activation of the MTA lateral convs. Defaults to ReLU, as
            there.
        init_cfg (dict | list[dict], optional): Initialization config. Defaults to None.

    Inputs:
        Sequence[TokenSet]: One token set per backbone stage
        (``TCFormer(output_format='tokens')``).

    Outputs:
        tuple: ``mask_features`` (B, out_channels, H / 4, W / 4) and ``multi_scale_memorys``,
        a list of ``num_outs`` maps (B, feat_channels, H_i, W_i) at strides 32, 16, 8 (for 3).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 feat_channels: int,
                 out_channels: int,
                 num_outs: int = 3,
                 strides: Sequence[int] = (4, 8, 16, 32),
                 encoder: dict = dict(kv_reduction='cr', mlp_ratios=4, num_heads=4),
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        if len(strides) != len(in_channels):
            raise ValueError(f'MTAPixelDecoder: {len(in_channels)} in_channels but '
                             f'{len(strides)} strides {list(strides)}')
        if not 1 <= num_outs < len(in_channels):
            raise ValueError(f'MTAPixelDecoder: num_outs must lie in [1, {len(in_channels) - 1}] '
                             f'(the finest level gives the mask features), got {num_outs}')
        encoder = copy.deepcopy(dict(encoder))
        layer_cfg = encoder.pop('layer_cfg', None) or {}
        num_levels = (layer_cfg.get('self_attn_cfg') or {}).get('num_levels', num_outs)
        if num_levels != num_outs:
            raise ValueError(f'MTAPixelDecoder: encoder.layer_cfg.self_attn_cfg.num_levels '
                             f'({num_levels}) must equal num_outs ({num_outs})')
        unknown = set(encoder) - set(MTA_KEYS)
        if unknown:
            raise ValueError(f'MTAPixelDecoder: unknown encoder keys {sorted(unknown)}; '
                             f'expected some of {MTA_KEYS}')
        self.in_channels = in_channels
        self.strides = list(strides)
        self.num_outs = num_outs
        self.mta = MTA(in_channels,
                       feat_channels,
                       num_outs=len(in_channels),
                       norm_cfg=norm_cfg,
                       act_cfg=act_cfg,
                       **encoder)
        self.mask_feature = Conv2d(feat_channels, out_channels, kernel_size=1)

    def init_weights(self) -> None:
        """MTA's own initialisation, the mask projection as mmdet's pixel decoders do."""
        self.mta.init_weights()
        caffe2_xavier_init(self.mask_feature, bias=0)

    def forward(self, feats: Sequence[TokenSet]) -> Tuple[Tensor, List[Tensor]]:
        """Aggregate the backbone's token sets.

        Args:
            feats (Sequence[TokenSet]): One token set per backbone stage.

        Returns:
            tuple[Tensor, list[Tensor]]: ``mask_features`` and ``multi_scale_memorys``
            (coarsest first), see the class docstring.
        """
        maps = self.mta(feats)
        mask_features = self.mask_feature(maps[0])
        multi_scale_memorys = list(maps[::-1][:self.num_outs])
        return mask_features, multi_scale_memorys
