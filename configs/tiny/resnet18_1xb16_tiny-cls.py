# A stock mmpretrain ResNet-18 on the generated tiny classification set: a CPU-sized run of the
# whole tool chain, independent of our models (the launcher tests use it).
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    'mmpretrain::_base_/default_runtime.py',
    './_base_/tiny-cls_96px.py',
]
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)

model = dict(head=dict(num_classes=4, topk=(1, )))

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=4, eta_min=1e-5)
train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=2)

custom_hooks = [dict(type='NonFiniteCheckHook')]
default_hooks = dict(logger=dict(type='LoggerHook', interval=4),
                     checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
