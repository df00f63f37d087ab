# The generated tiny ADE20K set (tools/dataset_converters/make_tiny_datasets.py): the
# ADEChallengeData2016 layout with ADE20K's 150 classes (5 of them drawn: wall, floor,
# painting, clock, flag), 128x128 images, 128 train / 32 val. The ADE20K recipe's
# random resize, crop, flip and photometric distortion at a 96x96 crop; the test side is 96.
data_root = 'data/tiny/ade/ADEChallengeData2016'
crop_size = (96, 96)
data_preprocessor = dict(type='SegDataPreProcessor',
                         mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375],
                         bgr_to_rgb=True,
                         pad_val=0,
                         seg_pad_val=255,
                         size=crop_size)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(384, 96), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(384, 96), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=4,
                        num_workers=2,
                        persistent_workers=True,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='ADE20KDataset',
                                     data_root=data_root,
                                     data_prefix=dict(img_path='images/training',
                                                      seg_map_path='annotations/training'),
                                     pipeline=train_pipeline))
# The validation images through the test pipeline, in order.
val_dataloader = dict(train_dataloader,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(train_dataloader['dataset'],
                                   data_prefix=dict(img_path='images/validation',
                                                    seg_map_path='annotations/validation'),
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(timer=dict(type='IterTimerHook'),
                     logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
                     param_scheduler=dict(type='ParamSchedulerHook'),
                     checkpoint=dict(type='CheckpointHook',
                                     by_epoch=False,
                                     interval=1000,
                                     max_keep_ckpts=1,
                                     save_last=True),
                     sampler_seed=dict(type='DistSamplerSeedHook'),
                     visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
