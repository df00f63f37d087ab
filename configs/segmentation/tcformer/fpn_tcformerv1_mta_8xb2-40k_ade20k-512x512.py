# TCFormerV1 + Semantic FPN with MTA, ADE20K 512x512: TPAMI Table V (29.4M, 92.4 GFLOPs, 47.1
# mIoU). V1's MTA reduces keys and values spatially; the row's 29.4M fits the released MTA's
# settings: average-pool reduction (no reduction convs) and MLP ratio 4 (see README.md).
_base_ = ['./_base_/fpn_tcformer_8xb2-40k_ade20k-512x512.py']

model = dict(backbone=dict(
    arch='v1', init_cfg=dict(checkpoint='work_dirs/tcformerv1_8xb128_in1k/epoch_300.pth')),
             neck=dict(type='MTA', kv_reduction='pool', sr_ratios=(8, 4, 2, 1), mlp_ratios=4))
