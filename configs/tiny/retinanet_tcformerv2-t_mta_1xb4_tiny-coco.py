# RetinaNet with TCFormerV2-Tiny + CR-MTA on the generated tiny COCO set: the CPU-sized
# counterpart of configs/detection/tcformer/retinanet_tcformerv2-t_mta_1x_coco.py (TPAMI
# Table VII), on the same model base. The backbone is the real TCFormerV2-Tiny (local DPC-kNN
# CTMs in 16 / 4 / 1 parts) trained from scratch; the neck and head are narrowed to 64
# channels, and the anchors halved for the 16-52 px shapes of 128 px images. The neck's lateral
# convs get GroupNorm: from scratch, the head reads the levels directly and un-normalised
# laterals learn slowly (measured at 200 iterations: box AP 0.16 without, 0.36 with).
_base_ = [
    '../detection/tcformer/_base_/retinanet_tcformerv2_mta.py',
    './_base_/tiny-coco_128px.py',
    './_base_/tiny-det_runtime.py',
]

model = dict(backbone=dict(drop_path_rate=0.0, init_cfg=None),
             neck=dict(out_channels=64, norm_cfg=dict(type='GN', num_groups=32)),
             bbox_head=dict(num_classes=3,
                            in_channels=64,
                            feat_channels=64,
                            stacked_convs=2,
                            anchor_generator=dict(octave_base_scale=2)))

max_iters = 112
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
# Warm-up, then a constant lr: RetinaNet's focal-loss head learns slower than Mask R-CNN's
# two stages, and a decay within a hundred iterations from scratch cost it most of its box AP.
param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20)]
default_hooks = dict(checkpoint=dict(interval=max_iters))
