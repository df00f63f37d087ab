# Mask R-CNN with TCFormerV2-Tiny + CR-MTA on the generated tiny COCO set: the CPU-sized
# counterpart of configs/detection/tcformer/mask-rcnn_tcformerv2-t_mta_1x_coco.py (TPAMI
# Table VII), on the same model base. The backbone is the real TCFormerV2-Tiny (local DPC-kNN
# CTMs in 16 / 4 / 1 parts) trained from scratch; neck and heads are narrowed to 64 channels
# (256 in the box head's fully connected layers), the RPN anchors halved for the 16-52 px
# shapes of 128 px images, and fewer RoIs sampled for a handful of objects per image.
_base_ = [
    '../detection/tcformer/_base_/mask-rcnn_tcformerv2_mta.py',
    './_base_/tiny-coco_128px.py',
    './_base_/tiny-det_runtime.py',
]

model = dict(backbone=dict(drop_path_rate=0.0, init_cfg=None),
             neck=dict(out_channels=64),
             rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
             roi_head=dict(bbox_roi_extractor=dict(out_channels=64),
                           bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=3),
                           mask_roi_extractor=dict(out_channels=64),
                           mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=3)),
             train_cfg=dict(rpn=dict(sampler=dict(num=64)), rcnn=dict(sampler=dict(num=64))))

val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator

max_iters = 48
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
