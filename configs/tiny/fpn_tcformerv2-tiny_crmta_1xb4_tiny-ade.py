# TCFormerV2-Tiny + Semantic FPN with CR-MTA on the generated tiny ADE20K set: the CPU-sized
# counterpart of configs/segmentation/tcformer/fpn_tcformerv2-s_crmta_8xb2-40k_ade20k-512x512.py
# (TPAMI Table V). Narrower neck and head, BN instead of SyncBN, 96x96 crops (every stage's
# tokens cluster; at 64x64 they would not, docs/design.md "Input sizes"), a short schedule
# at a higher learning rate.
_base_ = ['./_base_/tiny-ade_tcformerv2-tiny.py']

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(neck=dict(type='MTA',
                       in_channels=[64, 128, 320, 512],
                       out_channels=64,
                       num_outs=4,
                       num_heads=2,
                       mlp_ratios=1,
                       kv_reduction='cr'),
             decode_head=dict(type='FPNHead',
                              in_channels=[64, 64, 64, 64],
                              in_index=[0, 1, 2, 3],
                              feature_strides=[4, 8, 16, 32],
                              channels=32,
                              dropout_ratio=0.1,
                              num_classes=150,
                              norm_cfg=norm_cfg,
                              align_corners=False,
                              loss_decode=dict(type='CrossEntropyLoss',
                                               use_sigmoid=False,
                                               loss_weight=1.0)))

max_iters = 40
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
