# TPAMI Table VIII (component ablation), row "Global CTM + FPN": 29.4M, 87.9 GFLOPs, 46.1 mIoU.
# TCFormerV2-Small widths + Semantic FPN, ADE20K 512x512. The seven Table VIII configs
# differ only in the token merge (backbone use_ctm / num_parts) and the feature
# aggregation (neck); the recipe is Table V's.
_base_ = ['./_base_/fpn_tcformer_8xb2-40k_ade20k-512x512.py']

pretrained = 'work_dirs/tcformerv1_8xb128_in1k/epoch_300.pth'
model = dict(
    # Global CTM (one part in every CTM): TCFormerV1's backbone, pre-trained as such.
    backbone=dict(num_parts=(1, 1, 1), output_format='maps', init_cfg=dict(checkpoint=pretrained)),
    neck=dict(_delete_=True,
              type='FPN',
              in_channels=[64, 128, 320, 512],
              out_channels=256,
              num_outs=4))
