"""The stock counterpart of a TCFormer config: the same recipe with a stock backbone and neck.

Comparisons against a stock model (training memory, the tiny learning benchmark) change only
the model's backbone and neck, so that data, schedule, optimizer, seed and head stay the
config's. The backbone becomes mmdet's ``PyramidVisionTransformerV2`` (PVTv2, the papers'
anchor) with the given variant; the neck becomes what that codebase uses with a pyramid
backbone:

- ``MTA`` (detection, segmentation) -> ``FPN`` with the same levels and channels.
- ``MTA`` with ``out_indices`` (top-down pose: one stride-4 map for the head) -> mmpose's
  ``FeatureMapProcessor`` concatenating the four backbone maps at stride 4; the head's
  ``in_channels`` follow.
- ``TokenGlobalAveragePooling`` (classification, RLE) -> ``GlobalAveragePooling``.
- Mask2Former's ``MTAPixelDecoder`` -> mmdet's ``MSDeformAttnPixelDecoder`` (the original
  deformable-attention encoder) over the same levels, one encoder layer per MTA merge block
  (``len(in_channels) - 1``) with MTA's heads and MLP ratio, so that both decoders aggregate
  the levels at a similar depth and width.

mmpretrain's necks take only tuples, which mmdet's PVTv2 does not return; classification
configs get mmpretrain's ResNet-18 instead (11.7M parameters against TCFormerV2-Tiny's 13.7M).
"""
import copy

#: mmdet's PVTv2 variants: stage widths and depths.
PVTV2 = {
    'b0': dict(embed_dims=32, num_layers=[2, 2, 2, 2]),
    'b1': dict(embed_dims=64, num_layers=[2, 2, 2, 2]),
    'b2': dict(embed_dims=64, num_layers=[3, 4, 6, 3]),
}
#: Stage widths of a PVTv2 whose first stage has ``embed_dims`` channels.
PVTV2_WIDTH_RATIOS = (1, 2, 5, 8)
#: MTA arguments that FPN shares (the rest configure the merge blocks).
FPN_KEYS = ('in_channels', 'out_channels', 'num_outs', 'start_level', 'end_level',
            'add_extra_convs', 'relu_before_extra_convs', 'no_norm_on_lateral', 'conv_cfg',
            'norm_cfg', 'act_cfg')


def stock_counterpart(cfg, pvtv2: str = 'b1'):
    """A copy of ``cfg`` with PVTv2 ``pvtv2`` as backbone and the matching stock neck.

    Args:
        cfg (mmengine.Config): A config whose model has a TCFormer backbone.
        pvtv2 (str): PVTv2 variant, one of :data:`PVTV2`. Defaults to ``'b1'``, whose stage
            widths (64, 128, 320, 512) and depths are those of TCFormerV2-Tiny / V1-Light.

    Returns:
        mmengine.Config: The swapped copy.

    Raises:
        ValueError: For an unknown variant, or a neck or Mask2Former pixel decoder this
            function does not know.
    """
    if pvtv2 not in PVTV2:
        raise ValueError(f'stock_counterpart: pvtv2 must be one of {sorted(PVTV2)}, got '
                         f'{pvtv2!r}')
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    if cfg.get('default_scope') == 'mmpretrain':
        model.backbone = dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, ))
        model.neck = dict(type='GlobalAveragePooling')
        model.head.in_channels = 512
        return cfg
    out_indices = tuple(model.backbone.get('out_indices', (0, 1, 2, 3)))
    model.backbone = dict(type='mmdet.PyramidVisionTransformerV2',
                          **PVTV2[pvtv2],
                          out_indices=out_indices)
    widths = [PVTV2[pvtv2]['embed_dims'] * r for r in PVTV2_WIDTH_RATIOS]
    neck = model.get('neck')
    kind = None if neck is None else neck.get('type')
    if kind == 'MTA' and neck.get('out_indices') is not None:
        model.neck = dict(type='FeatureMapProcessor', concat=True)
        model.head.in_channels = sum(widths[i] for i in out_indices)
    elif kind == 'MTA':
        fpn = {k: neck[k] for k in FPN_KEYS if k in neck}
        model.neck = dict(fpn, type='FPN', in_channels=widths)
    elif kind == 'TokenGlobalAveragePooling':
        model.neck = dict(type='GlobalAveragePooling')
    elif kind is not None:
        raise ValueError(f'stock_counterpart: no stock counterpart known for the neck {kind!r}')
    head = model.get('decode_head') or {}
    decoder = head.get('pixel_decoder') or {}
    if decoder.get('type') == 'MTAPixelDecoder':
        head.pixel_decoder = _deformable_pixel_decoder(decoder, head)
    elif decoder:
        raise ValueError(f'stock_counterpart: no stock counterpart known for the pixel decoder '
                         f'{decoder.get("type")!r}')
    return cfg


def _deformable_pixel_decoder(decoder, head) -> dict:
    """mmdet's ``MSDeformAttnPixelDecoder`` in place of an ``MTAPixelDecoder`` config."""
    channels = head.feat_channels
    encoder = decoder.get('encoder') or {}
    num_outs = decoder.get('num_outs', 3)
    # MTA takes one value per merge block; the deformable encoder's layers share one.
    num_heads, mlp_ratio = (max(v) if isinstance(v, (list, tuple)) else v
                            for v in (encoder.get('num_heads', 4), encoder.get('mlp_ratios', 4)))
    attn = dict(embed_dims=channels,
                num_heads=num_heads,
                num_levels=num_outs,
                num_points=4,
                dropout=0.0,
                batch_first=True)
    ffn = dict(embed_dims=channels,
               feedforward_channels=int(channels * mlp_ratio),
               num_fcs=2,
               ffn_drop=0.0,
               act_cfg=dict(type='ReLU', inplace=True))
    return dict(type='mmdet.MSDeformAttnPixelDecoder',
                num_outs=num_outs,
                norm_cfg=dict(type='GN', num_groups=min(32, channels)),
                act_cfg=dict(type='ReLU'),
                encoder=dict(num_layers=len(head.in_channels) - 1,
                             layer_cfg=dict(self_attn_cfg=attn, ffn_cfg=ffn)),
                positional_encoding=dict(num_feats=channels // 2, normalize=True))
