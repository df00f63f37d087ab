# COCO keypoints (17 per person) as in mmpose's top-down RLE configs: 256x192 crops with
# regression targets, flip, half-body and scale / rotation augmentation, validation on the
# 56.4-AP person detections, CocoMetric.
_base_ = ['./topdown.py']

dataset_type = 'CocoDataset'
data_root = 'data/coco/'

# codec settings
codec = dict(type='RegressionLabel', input_size=(192, 256))

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
train_dataloader = dict(dataset=dict(type=dataset_type,
                                     data_root=data_root,
                                     ann_file='annotations/person_keypoints_train2017.json',
                                     data_prefix=dict(img='train2017/'),
                                     pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(train_dataloader['dataset'],
                                   ann_file='annotations/person_keypoints_val2017.json',
                                   data_prefix=dict(img='val2017/'),
                                   bbox_file=f'{data_root}person_detection_results/'
                                   'COCO_val2017_detections_AP_H_56_person.json',
                                   pipeline=val_pipeline))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(type='CocoMetric',
                     ann_file=f'{data_root}annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
