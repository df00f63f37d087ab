# TCFormerV2-Tiny + CR-MTA heatmap head on the generated tiny COCO-WholeBody set
# (tools/dataset_converters/make_tiny_datasets.py; 133 keypoints, one figure per 192x192 image,
# ground-truth boxes): the CPU-sized counterpart of
# configs/pose/tcformer/td-hm_tcformerv2-s-crmta_8xb64-210e_coco-wholebody-256x192.py with its
# codec, pipelines, flip test and CocoWholeBodyMetric. A 96x72 input gives a 24x18 stage-1 map
# (room for the 4x4 parts of ctm1 and the 8x8 key/value pooling; tokens that really cluster) and
# 24x18 heatmaps, fine enough for the face and hand keypoints to be located (at 64x48 their
# tolerance under COCO-WholeBody's OKS is a quarter of a heatmap cell).
_base_ = ['../pose/tcformer/td-hm_tcformerv2-s-crmta_8xb64-210e_coco-wholebody-256x192.py']

codec = dict(type='MSRAHeatmap', input_size=(72, 96), heatmap_size=(18, 24), sigma=2)

model = dict(backbone=dict(arch='v2-tiny', init_cfg=None), head=dict(decoder=codec))

# The full config's pipelines at this codec's input size.
data_root = 'data/tiny/coco_wholebody/'
train_pipeline = [
    *_base_.train_pipeline[:-3],
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_pipeline = [
    *_base_.val_pipeline[:-2],
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
# Ground-truth boxes: no detection file.
val_dataloader = dict(batch_size=16,
                      dataset=dict(data_root=data_root, bbox_file=None, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/coco_wholebody_val_v1.0.json')
test_evaluator = val_evaluator

# 16 iterations per epoch; a short warm-up instead of 500 iterations.
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=4, start_factor=0.1, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=max_epochs, milestones=[3], gamma=0.1, by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(type='LoggerHook', interval=4),
                     checkpoint=dict(type='CheckpointHook',
                                     interval=1,
                                     max_keep_ckpts=1,
                                     save_best=None))
randomness = dict(seed=0)
