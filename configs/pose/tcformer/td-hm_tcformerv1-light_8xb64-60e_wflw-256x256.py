# TCFormer-Light (TCFormerV1-Light) + MTA heatmap head, WFLW face alignment, 256x256 (CVPR
# Table 3: NME 4.28 on the test set, inter-ocular normalisation). mmpose's HRNetV2-W18 WFLW
# recipe (td-hm_hrnetv2-w18_8xb64-60e_wflw-256x256: Adam, lr 2e-3 for 8 x 64 images, 60 epochs,
# step decay at 40 and 55, 500-iteration warm-up, rotation 60 and scale 0.75-1.25
# augmentation, MSRA heatmaps with sigma 2, flip test), which the paper follows ("the same
# training and evaluation settings as HRNetV2"), with the whole-body MTA head.
_base_ = [
    './_base_/default_runtime.py',
    './_base_/datasets/wflw.py',
    './_base_/models/tcformer_mta_heatmap.py',
]

# The ImageNet-1k checkpoint of configs/classification/tcformer/tcformerv1-light_8xb128_in1k.py,
# where tools/train.py writes it; the released TCFormer-Light checkpoint put there loads as well.
pretrained = 'work_dirs/tcformerv1-light_8xb128_in1k/epoch_300.pth'

# runtime
train_cfg = dict(max_epochs=60, val_interval=1)

# optimizer
optim_wrapper = dict(optimizer=dict(lr=2e-3))

# learning policy
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=60, milestones=[40, 55], gamma=0.1, by_epoch=True)
]

# hooks
default_hooks = dict(checkpoint=dict(save_best='NME', rule='less', interval=1))

model = dict(backbone=dict(arch='v1-light', init_cfg=dict(checkpoint=pretrained)),
             head=dict(out_channels=98, decoder=_base_.codec))
