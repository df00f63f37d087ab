# TCFormerV2-Small + Semantic FPN with CR-MTA, ADE20K 512x512: TPAMI Table V (28.4M, 44.4
# GFLOPs, 47.8 mIoU), which is also Table VIII's "Local CTM + CR-MTA" row. CR-MTA: MLP ratio 1,
# keys/values merged by the recorded clustering, then projected (Linear + LayerNorm + GELU).
_base_ = ['./_base_/fpn_tcformer_8xb2-40k_ade20k-512x512.py']

model = dict(backbone=dict(arch='v2-small', num_parts=(16, 4, 1), use_ctm=True),
             neck=dict(type='MTA', kv_reduction='cr', cr_projection=True, mlp_ratios=1))
