# mmpose's runtime (hooks, logging, visualiser) with tcformer_mm's modules registered, and
# mmpose's top-down schedule (its HRNet and RLE configs): Adam at lr 5e-4 for 8 x 64 images,
# 210 epochs with a 500-iteration warm-up and steps at 170 and 200, validation every 10 epochs.
_base_ = ['mmpose::_base_/default_runtime.py']
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)
# mmpose's SyncBuffersHook, and a stop at NaN / Inf weights or losses.
custom_hooks = [dict(type='SyncBuffersHook'), dict(type='NonFiniteCheckHook')]

# runtime
train_cfg = dict(max_epochs=210, val_interval=10)

# optimizer
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))

# learning policy
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True)
]

# The learning rates are for 8 x 64 images; --auto-scale-lr rescales them for another batch.
auto_scale_lr = dict(base_batch_size=512)
