# TPAMI Table VIII (component ablation), row "Local CTM + SR-MTA": 33.7M, 48.6 GFLOPs, 47.1 mIoU.
# TCFormerV2-Small widths + Semantic FPN, ADE20K 512x512. The seven Table VIII configs
# differ only in the token merge (backbone use_ctm / num_parts) and the feature
# aggregation (neck); the recipe is Table V's.
_base_ = ['./_base_/fpn_tcformer_8xb2-40k_ade20k-512x512.py']

model = dict(
    # Local CTM (16 / 4 / 1 parts): TCFormerV2-Small.
    backbone=dict(num_parts=(16, 4, 1)),
    neck=dict(type='MTA', kv_reduction='sr', sr_ratios=(8, 4, 2, 1), mlp_ratios=1))
