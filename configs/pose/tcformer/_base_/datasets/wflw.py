# WFLW (98 face landmarks) as in mmpose's HRNetV2 WFLW configs: 256x256 MSRA heatmaps
# (sigma 2), flip and rotation (60 degrees) / scale (0.75-1.25) augmentation without shifts,
# NME normalised by the inter-ocular (outer eye corner) distance.
_base_ = ['./topdown.py']

dataset_type = 'WFLWDataset'
data_root = 'data/wflw/'

# codec settings
codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)

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
train_dataloader = dict(dataset=dict(type=dataset_type,
                                     data_root=data_root,
                                     ann_file='annotations/face_landmarks_wflw_train.json',
                                     data_prefix=dict(img='images/'),
                                     pipeline=train_pipeline))
# The test set (WFLW has no validation set) in the same images folder.
val_dataloader = dict(dataset=dict(train_dataloader['dataset'],
                                   ann_file='annotations/face_landmarks_wflw_test.json',
                                   pipeline=val_pipeline))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(type='NME', norm_mode='keypoint_distance')
test_evaluator = val_evaluator
