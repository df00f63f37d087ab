# TCFormer-Light + MTA heatmap head on the generated tiny WFLW set
# (tools/dataset_converters/make_tiny_datasets.py; 98 landmarks, one face per 128x128 image):
# the CPU-sized counterpart of
# configs/pose/tcformer/td-hm_tcformerv1-light_8xb64-60e_wflw-256x256.py with its codec,
# pipelines, flip test and NME metric, at 64x64 (16x16 heatmaps).
_base_ = ['../pose/tcformer/td-hm_tcformerv1-light_8xb64-60e_wflw-256x256.py']

codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=2)

model = dict(backbone=dict(init_cfg=None), head=dict(decoder=codec))

# The full config's pipelines at this codec's input size.
data_root = 'data/tiny/wflw/'
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
val_dataloader = dict(batch_size=16, dataset=dict(data_root=data_root, pipeline=val_pipeline))
test_dataloader = val_dataloader

# 16 iterations per epoch; a short warm-up instead of 500 iterations.
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
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
