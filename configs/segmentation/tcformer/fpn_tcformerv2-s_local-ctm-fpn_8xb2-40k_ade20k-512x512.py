# TPAMI Table VIII (component ablation), row "Local CTM + FPN": 29.4M, 51.4 GFLOPs, 45.7 mIoU.
# TCFormerV2-Small widths + Semantic FPN, ADE20K 512x512. The seven Table VIII configs
# differ only in the token merge (backbone use_ctm / num_parts) and the feature
# aggregation (neck); the recipe is Table V's.
_base_ = ['./_base_/fpn_tcformer_8xb2-40k_ade20k-512x512.py']

model = dict(
    # Local CTM (16 / 4 / 1 parts): TCFormerV2-Small.
    backbone=dict(num_parts=(16, 4, 1), output_format='maps'),
    neck=dict(_delete_=True,
              type='FPN',
              in_channels=[64, 128, 320, 512],
              out_channels=256,
              num_outs=4))
