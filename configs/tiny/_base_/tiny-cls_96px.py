# The generated tiny classification set (tools/dataset_converters/make_tiny_datasets.py):
# ImageNet layout, 4 classes of coloured shapes, 96x96 images, 128 train / 32 val.
data_root = 'data/tiny/imagenet'
classes = ('circle', 'square', 'triangle', 'cross')

data_preprocessor = dict(num_classes=len(classes),
                         mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375],
                         to_rgb=True)

# The ImageNet recipe's crop and flip at 96 px; RandAugment, erasing, Mixup and CutMix are left
# out: they regularise 300-epoch runs and only slow down a few-epoch one on 128 images.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=96, crop_ratio_range=(0.6, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=96, edge='short'),
    dict(type='CenterCrop', crop_size=96),
    dict(type='PackInputs'),
]
dataset = dict(type='ImageNet', data_root=data_root, metainfo=dict(classes=classes))
train_dataloader = dict(batch_size=16,
                        num_workers=2,
                        persistent_workers=True,
                        dataset=dict(**dataset, split='train', pipeline=train_pipeline),
                        sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(batch_size=16,
                      num_workers=2,
                      persistent_workers=True,
                      dataset=dict(**dataset, split='val', pipeline=test_pipeline),
                      sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16)
