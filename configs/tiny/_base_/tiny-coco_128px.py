# The generated tiny COCO instance set (tools/dataset_converters/make_tiny_datasets.py):
# mmdet's CocoDataset layout, 3 classes of coloured shapes (boxes and polygon masks), 128x128
# images with 0-4 objects, 128 train / 32 val; image 0 of each split has no object.
data_root = 'data/tiny/coco'
classes = ('circle', 'square', 'triangle')
metainfo = dict(classes=classes)
backend_args = None

# mmdet's COCO pipeline at the images' own size (128 px instead of 800x1333); padding to a
# multiple of 32 is the model's data preprocessor's. Masks are loaded for both detectors.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        # Keep the image without objects: training must cope with empty ground truth.
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(batch_size=4,
                      num_workers=2,
                      persistent_workers=True,
                      drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='CocoDataset',
                                   data_root=data_root,
                                   metainfo=metainfo,
                                   ann_file='annotations/instances_val2017.json',
                                   data_prefix=dict(img='val2017/'),
                                   test_mode=True,
                                   pipeline=test_pipeline,
                                   backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(type='CocoMetric',
                     ann_file=data_root + '/annotations/instances_val2017.json',
                     metric='bbox',
                     format_only=False,
                     backend_args=backend_args)
test_evaluator = val_evaluator
