# TCFormerV2-Tiny (the real arch: local DPC-kNN CTMs in 16 / 4 / 1 parts) on the generated tiny
# classification set (tools/dataset_converters/make_tiny_datasets.py; 4 classes, 64x64): the
# CPU-sized counterpart of configs/classification/tcformer/tcformerv2-tiny_8xb128_in1k.py and
# the README quick start's main job. A 64x64 image gives a 16x16 stage-1 map, room for the
# 4x4 parts of ctm1 (the model takes inputs from 29x29).
_base_ = [
    '../classification/tcformer/_base_/models/tcformer.py',
    'mmpretrain::_base_/default_runtime.py',
    './_base_/tiny-cls_64px.py',
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

default_hooks = dict(logger=dict(type='LoggerHook', interval=4),
                     checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2))
randomness = dict(seed=0)
