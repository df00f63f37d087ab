# TPAMI Table VIII (component ablation), row "CNN + FPN": 29.1M, 45.8 GFLOPs, 45.2 mIoU.
# TCFormerV2-Small widths + Semantic FPN, ADE20K 512x512. The seven Table VIII configs
# differ only in the token merge (backbone use_ctm / num_parts) and the feature
# aggregation (neck); the recipe is Table V's.
_base_ = ['./_base_/fpn_tcformer_8xb2-40k_ade20k-512x512.py']

pretrained = 'work_dirs/tcformerv2-small-noctm_8xb128_in1k/epoch_300.pth'
model = dict(
    # No CTM: strided 3x3 convs between the stages, grid tokens throughout (PVTv2-B2's shape).
    backbone=dict(use_ctm=False, output_format='maps', init_cfg=dict(checkpoint=pretrained)),
    neck=dict(_delete_=True,
              type='FPN',
              in_channels=[64, 128, 320, 512],
              out_channels=256,
              num_outs=4))
