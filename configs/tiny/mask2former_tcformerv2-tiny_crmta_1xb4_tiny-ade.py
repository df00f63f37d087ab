# TCFormerV2-Tiny + Mask2Former with CR-MTA as the pixel decoder on the generated tiny ADE20K
# set: the CPU-sized counterpart of configs/segmentation/tcformer/
# mask2former_tcformerv2-s_crmta_8xb2-160k_ade20k-512x512.py (TPAMI Table VI). mmseg's
# Mask2FormerHead with the recipe's losses and matcher; narrower (64 channels), 16 queries,
# 3 decoder layers, fewer sampled points, 96x96 crops and a short schedule.
_base_ = ['./_base_/tiny-ade_tcformerv2-tiny.py']
custom_imports = dict(imports=['mmdet.models', 'tcformer_mm'], allow_failed_imports=False)

num_classes = 150
channels = 64
model = dict(decode_head=dict(
    type='Mask2FormerHead',
    in_channels=[64, 128, 320, 512],
    strides=[4, 8, 16, 32],
    feat_channels=channels,
    out_channels=channels,
    num_classes=num_classes,
    num_queries=16,
    num_transformer_feat_level=3,
    align_corners=False,
    pixel_decoder=dict(type='MTAPixelDecoder',
                       num_outs=3,
                       encoder=dict(num_heads=2,
                                    mlp_ratios=1,
                                    kv_reduction='cr',
                                    cr_projection=False,
                                    layer_cfg=dict(self_attn_cfg=dict(num_levels=3)))),
    enforce_decoder_input_project=False,
    positional_encoding=dict(num_feats=channels // 2, normalize=True),
    transformer_decoder=dict(return_intermediate=True,
                             num_layers=3,
                             layer_cfg=dict(self_attn_cfg=dict(embed_dims=channels,
                                                               num_heads=4,
                                                               attn_drop=0.0,
                                                               proj_drop=0.0,
                                                               dropout_layer=None,
                                                               batch_first=True),
                                            cross_attn_cfg=dict(embed_dims=channels,
                                                                num_heads=4,
                                                                attn_drop=0.0,
                                                                proj_drop=0.0,
                                                                dropout_layer=None,
                                                                batch_first=True),
                                            ffn_cfg=dict(embed_dims=channels,
                                                         feedforward_channels=2 * channels,
                                                         num_fcs=2,
                                                         act_cfg=dict(type='ReLU', inplace=True),
                                                         ffn_drop=0.0,
                                                         dropout_layer=None,
                                                         add_identity=True)),
                             init_cfg=None),
    loss_cls=dict(type='mmdet.CrossEntropyLoss',
                  use_sigmoid=False,
                  loss_weight=2.0,
                  reduction='mean',
                  class_weight=[1.0] * num_classes + [0.1]),
    loss_mask=dict(
        type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='mean', loss_weight=5.0),
    loss_dice=dict(type='mmdet.DiceLoss',
                   use_sigmoid=True,
                   activate=True,
                   reduction='mean',
                   naive_dice=True,
                   eps=1.0,
                   loss_weight=5.0),
    train_cfg=dict(num_points=1024,
                   oversample_ratio=3.0,
                   importance_sample_ratio=0.75,
                   assigner=dict(
                       type='mmdet.HungarianAssigner',
                       match_costs=[
                           dict(type='mmdet.ClassificationCost', weight=2.0),
                           dict(type='mmdet.CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                           dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0)
                       ]),
                   sampler=dict(type='mmdet.MaskPseudoSampler'))))

max_iters = 60
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW',
                                    lr=2e-3,
                                    weight_decay=0.05,
                                    eps=1e-8,
                                    betas=(0.9, 0.999)),
                     clip_grad=dict(max_norm=0.01, norm_type=2),
                     paramwise_cfg=dict(custom_keys={
                         'query_embed': dict(lr_mult=1.0, decay_mult=0.0),
                         'query_feat': dict(lr_mult=1.0, decay_mult=0.0),
                         'level_embed': dict(lr_mult=1.0, decay_mult=0.0),
                     },
                                        norm_decay_mult=0.0))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
