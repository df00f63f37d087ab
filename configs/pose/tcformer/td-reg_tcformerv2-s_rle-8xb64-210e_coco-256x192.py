# RLE + TCFormerV2-Small, COCO, 256x192 (TPAMI Table III: 25.2M parameters, 4.4 GFLOPs, val AP
# 73.9). No MTA: the keypoints are regressed from the mean of the last-stage token features,
# as in classification, by mmpose's RLEHead; mmpose's default RLE recipe
# (td-reg_res50_rle-8xb64-210e_coco-256x192: Adam, lr 1e-3 for 8 x 64 images, 210 epochs, step
# decay at 170 and 200, flip test, the 56.4-AP person detections).
_base_ = [
    './_base_/default_runtime.py',
    './_base_/datasets/coco.py',
    './_base_/models/tcformer_topdown.py',
]

# No TCFormerV2 weights were released: the ImageNet-1k checkpoint of
# configs/classification/tcformer/tcformerv2-small_8xb128_in1k.py, where tools/train.py writes it.
pretrained = 'work_dirs/tcformerv2-small_8xb128_in1k/epoch_300.pth'

# optimizer
optim_wrapper = dict(optimizer=dict(lr=1e-3))

# hooks
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))

# model settings
model = dict(
    backbone=dict(arch='v2-small', out_indices=(3, ), init_cfg=dict(checkpoint=pretrained)),
    # The mean of the last-stage token features (every token counts once).
    neck=dict(type='TokenGlobalAveragePooling'),
    head=dict(type='RLEHead',
              in_channels=512,
              num_joints=17,
              loss=dict(type='RLELoss', use_target_weight=True),
              decoder=_base_.codec),
    test_cfg=dict(
        flip_test=True,
        shift_coords=True,
    ))

# evaluators: instance scores from the boxes and RLE's keypoint sigmas.
val_evaluator = dict(score_mode='bbox_rle')
test_evaluator = val_evaluator
