# TCFormerV2-Base + Mask2Former with CR-MTA as the pixel decoder, ADE20K 640x640: TPAMI
# Table VI (79.5M, 155.4 GFLOPs, 53.8 mIoU). The 512x512 config at mmseg's 640x640 ADE20K
# settings (the Swin-B Mask2Former row it is compared with).
_base_ = ['./mask2former_tcformerv2-b_crmta_8xb2-160k_ade20k-512x512.py']

crop_size = (640, 640)
model = dict(data_preprocessor=dict(size=crop_size))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomChoiceResize',
         scales=[int(x * 0.1 * 640) for x in range(5, 21)],
         resize_type='ResizeShortestEdge',
         max_size=2560),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
