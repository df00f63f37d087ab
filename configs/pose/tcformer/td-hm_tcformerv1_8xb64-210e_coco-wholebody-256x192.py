# TCFormerV1 + MTA heatmap head, COCO-WholeBody v1.0, 256x192 (TPAMI Table II "TCFormerV1",
# CVPR Table 1 and supplement Table S3 "TCFormer": whole-body AP 0.572, AR 0.678).
# mmpose's whole-body top-down recipe (HRNet-w32 256x192: 210 epochs, step decay at 170 and 200,
# 500-iteration warm-up, MSRA heatmaps with sigma 2, flip test, the 56.4-AP person detections)
# with Adam replaced by AdamW (lr 5e-4, weight decay 1e-2) as the papers state; 8 GPUs x 64
# images as the released config.
_base_ = [
    './_base_/default_runtime.py',
    './_base_/datasets/coco_wholebody.py',
    './_base_/models/tcformer_mta_heatmap.py',
]

# optimizer: AdamW, betas (0.9, 0.999), as TPAMI section 4.2.1 and the released config.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=1e-2))

# hooks
default_hooks = dict(checkpoint=dict(save_best='coco-wholebody/AP', rule='greater'))
# `load_from` and tools/test.py also take the released whole-body checkpoints (mmpose 0.x
# layout: keypoint_head.*, backbone patch_embed1.projection.*).
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='ReleasedCheckpointHook'),
    dict(type='NonFiniteCheckHook')
]

# The heatmaps decode with the dataset's codec.
model = dict(head=dict(decoder=_base_.codec))
