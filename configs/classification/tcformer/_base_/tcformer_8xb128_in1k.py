# The ImageNet-1k recipe of TCFormer (TPAMI section 4.1, CVPR supplement section 1), which is
# PVT's (DeiT's) recipe; the per-model configs set the arch and the stochastic depth.
_base_ = [
    './models/tcformer.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]

# DeiT's Mixup and CutMix on the training batches, so no training accuracy to compute.
model = dict(head=dict(cal_acc=False),
             train_cfg=dict(augments=[
                 dict(type='Mixup', alpha=0.8),
                 dict(type='CutMix', alpha=1.0),
             ]))

# The dataset base is DeiT's pipeline, which PVT and TCFormer trained with: random resized
# crop, flip, RandAugment (rand-m9-mstd0.5-inc1), random erasing 0.25; evaluation resizes the
# short side to 256 and takes the 224 center crop.
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

# lr 5e-4 per 512 images (1e-3 at 8 x 128) as PVT; auto_scale_lr rescales for other batches.
optim_wrapper = dict(
    optimizer=dict(type='AdamW',
                   lr=5e-4 * 1024 / 512,
                   weight_decay=0.05,
                   eps=1e-8,
                   betas=(0.9, 0.999)),
    # timm (PVT's optimizer factory) exempts biases and norm weights, all 1-D, from decay.
    paramwise_cfg=dict(_delete_=True, norm_decay_mult=0.0, bias_decay_mult=0.0,
                       flat_decay_mult=0.0),
)
param_scheduler = [
    # PVT: 5 warm-up epochs from lr 1e-6.
    dict(type='LinearLR',
         start_factor=1e-3,
         by_epoch=True,
         begin=0,
         end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=295, eta_min=1e-5, by_epoch=True, begin=5, end=300),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
auto_scale_lr = dict(base_batch_size=1024)

# `load_from` (and tools/test.py) also take the released classification checkpoints.
custom_hooks = [dict(type='ReleasedCheckpointHook'), dict(type='NonFiniteCheckHook')]
