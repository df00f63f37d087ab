# TCFormerV2-Base + Semantic FPN with CR-MTA, ADE20K 512x512: TPAMI Table V (66.0M, 84.0
# GFLOPs, 50.0 mIoU). The CR-MTA of V2-Small's row with MLP ratio 2, the one setting that gives
# Table V's 66.0M (ratio 1 gives 65.6M); see README.md.
_base_ = ['./_base_/fpn_tcformer_8xb2-40k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='v2-base',
                  init_cfg=dict(checkpoint='work_dirs/tcformerv2-base_8xb128_in1k/epoch_300.pth')),
    neck=dict(type='MTA', kv_reduction='cr', cr_projection=True, mlp_ratios=2))
