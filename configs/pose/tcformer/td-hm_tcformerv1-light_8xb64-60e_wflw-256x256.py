# TCFormer-Light (TCFormerV1-Light) + MTA heatmap head, WFLW face alignment, 256x256 (CVPR
# Table 3: NME 4.28 on the test set, inter-ocular normalisation). mmpose's HRNetV2-W18 WFLW
# recipe (td-hm_hrnetv2-w18_8xb64-60e_wflw-256x256: Adam, lr 2e-3 for 8 x 64 images, 60 epochs,
# step decay at 40 and 55, 500-iteration warm-up, rotation 60 and scale 0.75-1.25
# augmentation, MSRA heatmaps with sigma 2, flip test), which the paper follows ("the same
# training and evaluation settings as HRNetV2"), with the whole-body MTA head.
_base_ = ['mmpose::_base_/default_runtime.py']
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)

# The released ImageNet-1k TCFormer-Light checkpoint.
pretrained = 'pretrained/tcformer_light.pth'

# runtime
train_cfg = dict(max_epochs=60, val_interval=1)

# optimizer
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))

# learning policy
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=60, milestones=[40, 55], gamma=0.1, by_epoch=True)
]

# automatically scaling LR based on the actual training batch size
auto_scale_lr = dict(base_batch_size=512)

# hooks
default_hooks = dict(checkpoint=dict(save_best='NME', rule='less', interval=1))

# codec settings
codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)

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
        arch='v1-light',
        drop_path_rate=0.1,
        output_format='tokens',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    # The released MTA head settings (256 channels, 4 heads, MLP ratio 4, average-pooled keys
    # and values); the stride-4 map feeds the heatmap head.
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
        out_channels=98,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(
        flip_test=True,
        flip_mode='heatmap',
        shift_heatmap=True,
    ))

# base dataset settings
dataset_type = 'WFLWDataset'
data_mode = 'topdown'
data_root = 'data/wflw/'

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_prob=0, rotate_factor=60, scale_factor=(0.75, 1.25)),
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
        ann_file='annotations/face_landmarks_wflw_train.json',
        data_prefix=dict(img='images/'),
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
        ann_file='annotations/face_landmarks_wflw_test.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

# evaluators: NME normalised by the inter-ocular (outer eye corner) distance.
val_evaluator = dict(type='NME', norm_mode='keypoint_distance')
test_evaluator = val_evaluator
