# TCFormerV2-Tiny (the real arch: local DPC-kNN CTMs in 16 / 4 / 1 parts) on the generated tiny
# classification set (tools/dataset_converters/make_tiny_datasets.py; 4 classes, 96x96): the
# CPU-sized counterpart of configs/classification/tcformer/tcformerv2-tiny_8xb128_in1k.py and
# the README quick start's main job. The model takes inputs from 29x29, but at 64x64 its local
# CTMs have nothing to choose in stages 3 and 4: every stage-3 (stage-4) token is exactly one of
# ctm1's (ctm2's) windows (docs/design.md, "Input sizes"). At 96x96 every stage clusters.
_base_ = [
    '../classification/tcformer/_base_/models/tcformer.py',
    'mmpretrain::_base_/default_runtime.py',
    './_base_/tiny-cls_96px.py',
]

model = dict(backbone=dict(arch='v2-tiny'), head=dict(num_classes=4, topk=(1, )))

max_epochs = 12
optim_wrapper = dict(optimizer=dict(type='AdamW',
                                    lr=1e-3,
                                    weight_decay=0.05,
                                    eps=1e-8,
                                    betas=(0.9, 0.999)),
                     paramwise_cfg=dict(norm_decay_mult=0.0,
                                        bias_decay_mult=0.0,
                                        flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR',
         start_factor=1e-2,
         by_epoch=True,
         begin=0,
         end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)

custom_hooks = [dict(type='NonFiniteCheckHook')]
default_hooks = dict(logger=dict(type='LoggerHook', interval=4),
                     checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2))
randomness = dict(seed=0)
