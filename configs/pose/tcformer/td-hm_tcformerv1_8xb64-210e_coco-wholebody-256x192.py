# TCFormerV1 + MTA heatmap head, COCO-WholeBody v1.0, 256x192 (TPAMI Table II "TCFormerV1",
# CVPR Table 1 and supplement Table S3 "TCFormer": whole-body AP 0.572, AR 0.678).
# mmpose's whole-body top-down recipe (HRNet-w32 256x192: 210 epochs, step decay at 170 and 200,
# 500-iteration warm-up, MSRA heatmaps with sigma 2, flip test, the 56.4-AP person detections)
# with Adam replaced by AdamW (lr 5e-4, weight decay 1e-2) as the papers state; 8 GPUs x 64
# images as the released config.
_base_ = ['mmpose::_base_/default_runtime.py']
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)

# The released ImageNet-1k TCFormer checkpoint ({'model': ...}; the backbone converts it on load).
pretrained = 'pretrained/tcformer.pth'

# runtime
train_cfg = dict(max_epochs=210, val_interval=10)

# optimizer: AdamW, betas (0.9, 0.999), as TPAMI section 4.2.1 and the released config.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=1e-2))

# learning policy
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True)
]

# lr 5e-4 is for 8 x 64 images; --auto-scale-lr rescales it for another total batch.
auto_scale_lr = dict(base_batch_size=512)

# hooks
default_hooks = dict(checkpoint=dict(save_best='coco-wholebody/AP', rule='greater'))
# `load_from` and tools/test.py also take the released whole-body checkpoints (mmpose 0.x
# layout: keypoint_head.*, backbone patch_embed1.projection.*).
custom_hooks = [dict(type='SyncBuffersHook'), dict(type='ReleasedCheckpointHook')]

# codec settings
codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

# model settings
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='TCFormer',
        arch='v1',
        drop_path_rate=0.1,
        output_format='tokens',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    # The papers' MTA head as released: 256 channels, 4 heads, MLP ratio 4, average-pooled keys
    # and values; its stride-4 map (out_indices=(0, )) feeds the heatmap head.
    neck=dict(
        type='MTA',
        in_channels=[64, 128, 320, 512],
        out_channels=256,
        num_outs=4,
        num_heads=4,
        mlp_ratios=4,
        kv_reduction='pool',
        out_indices=(0, )),
    head=dict(
        type='HeatmapHead',
        in_channels=256,
        out_channels=133,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(
        flip_test=True,
        flip_mode='heatmap',
        shift_heatmap=True,
    ))

# base dataset settings
dataset_type = 'CocoWholeBodyDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]

# data loaders
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/coco_wholebody_train_v1.0.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline,
    ))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/coco_wholebody_val_v1.0.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        bbox_file='data/coco/person_detection_results/'
        'COCO_val2017_detections_AP_H_56_person.json',
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoWholeBodyMetric', ann_file=data_root + 'annotations/coco_wholebody_val_v1.0.json')
test_evaluator = val_evaluator
