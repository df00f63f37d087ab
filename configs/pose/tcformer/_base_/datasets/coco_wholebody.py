# COCO-WholeBody v1.0 (133 keypoints per person: body, feet, face, hands) on COCO's images and
# person detections, as in mmpose's whole-body configs: COCO's top-down settings with the
# whole-body annotations, 256x192 MSRA heatmaps (sigma 2) and CocoWholeBodyMetric.
_base_ = ['./coco.py']

dataset_type = 'CocoWholeBodyDataset'

# codec settings
codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

# pipelines and data loaders: COCO's augmentation, then the heatmap targets.
train_pipeline = [
    *_base_.train_pipeline[:-3],
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(type=dataset_type,
                                     ann_file='annotations/coco_wholebody_train_v1.0.json',
                                     pipeline=train_pipeline))
val_pipeline = [
    *_base_.val_pipeline[:-2],
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
val_dataloader = dict(dataset=dict(
    type=dataset_type, ann_file='annotations/coco_wholebody_val_v1.0.json', pipeline=val_pipeline))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(type='CocoWholeBodyMetric',
                     ann_file=_base_.data_root + 'annotations/coco_wholebody_val_v1.0.json')
test_evaluator = val_evaluator
