# Semantic FPN on ADE20K at 512x512 with a TCFormer backbone and an MTA neck in place of FPN
# (TPAMI section 4.3): PVT's recipe, which the paper follows. 40k iterations at batch 16
# (8 GPUs x 2), AdamW lr 1e-4, poly decay (power 0.9); random resize (ratio 0.5-2.0 of
# 2048x512) and 512x512 crop for training, shorter side 512 at test. The per-row configs set
# the backbone and the neck.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)

crop_size = (512, 512)
# ImageNet-1k pre-training (TPAMI 4.3): the checkpoint that tools/train.py writes for the
# matching config of configs/classification/tcformer/ (the backbone takes its backbone.* keys).
pretrained = 'work_dirs/tcformerv2-small_8xb128_in1k/epoch_300.pth'
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(_delete_=True,
                  type='TCFormer',
                  arch='v2-small',
                  drop_path_rate=0.1,
                  output_format='tokens',
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    # MTA in FPN's place, with its 256 channels and four levels.
    neck=dict(type='MTA',
              in_channels=[64, 128, 320, 512],
              num_heads=4,
              mlp_ratios=1,
              kv_reduction='cr'),
    decode_head=dict(in_channels=[256, 256, 256, 256], channels=128, num_classes=150))

train_dataloader = dict(batch_size=2, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader

# PVT's Semantic FPN optimizer: AdamW, lr 1e-4, weight decay 1e-4; poly decay to 0.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=40000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(timer=dict(type='IterTimerHook'),
                     logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
                     param_scheduler=dict(type='ParamSchedulerHook'),
                     checkpoint=dict(type='CheckpointHook',
                                     by_epoch=False,
                                     interval=4000,
                                     save_best='mIoU'),
                     sampler_seed=dict(type='DistSamplerSeedHook'),
                     visualization=dict(type='SegVisualizationHook'))
custom_hooks = [dict(type='NonFiniteCheckHook')]
auto_scale_lr = dict(enable=False, base_batch_size=16)
