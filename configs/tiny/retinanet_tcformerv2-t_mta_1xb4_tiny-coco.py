# RetinaNet with TCFormerV2-Tiny + CR-MTA on the generated tiny COCO set: the CPU-sized
# counterpart of configs/detection/tcformer/retinanet_tcformerv2-t_mta_1x_coco.py (TPAMI
# Table VII). The backbone is the real TCFormerV2-Tiny (local DPC-kNN CTMs in 16 / 4 / 1 parts)
# trained from scratch; the neck and head are narrowed to 64 channels, and the anchors halved
# for the 16-52 px shapes of 128 px images.
_base_ = [
    '../detection/tcformer/_base_/retinanet_tcformerv2_mta.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/tiny-coco_128px.py',
]

model = dict(backbone=dict(drop_path_rate=0.0),
             neck=dict(out_channels=64),
             bbox_head=dict(num_classes=3,
                            in_channels=64,
                            feat_channels=64,
                            stacked_convs=2,
                            anchor_generator=dict(octave_base_scale=2)))

max_iters = 112
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     clip_grad=dict(max_norm=10.0))
# Warm-up, then a constant lr: RetinaNet's focal-loss head learns slower than Mask R-CNN's
# two stages, and a decay within a hundred iterations from scratch cost it most of its box AP.
param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20)]

default_hooks = dict(logger=dict(type='LoggerHook', interval=10),
                     checkpoint=dict(type='CheckpointHook',
                                     by_epoch=False,
                                     interval=max_iters,
                                     max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=4)
