# Mask2Former on ADE20K at 512x512 with a TCFormer backbone and MTA in place of the pixel
# decoder (TPAMI section 4.3): mmseg's Mask2Former ADE20K recipe, which the paper follows.
# 160k iterations at batch 16 (8 GPUs x 2), AdamW lr 1e-4, weight decay 0.05, poly decay,
# backbone lr x0.1, gradient clipping 0.01, 100 queries, 9 decoder layers. The per-row configs
# set the backbone size and the input size.
_base_ = ['mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py']
custom_imports = dict(imports=['mmdet.models', 'tcformer_mm'], allow_failed_imports=False)

# ImageNet-1k pre-training (TPAMI 4.3): the checkpoint that tools/train.py writes for the
# matching config of configs/classification/tcformer/ (the backbone takes its backbone.* keys).
pretrained = 'work_dirs/tcformerv2-small_8xb128_in1k/epoch_300.pth'
model = dict(
    backbone=dict(_delete_=True,
                  type='TCFormer',
                  arch='v2-small',
                  drop_path_rate=0.3,
                  output_format='tokens',
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(
        in_channels=[64, 128, 320, 512],
        strides=[4, 8, 16, 32],
        pixel_decoder=dict(
            _delete_=True,
            type='MTAPixelDecoder',
            num_outs=3,
            # CR-MTA merge blocks; MLP ratio 4 and no projection after the clustering merge
            # give Table VI's 42.4M / 79.5M (see README.md).
            encoder=dict(
                num_heads=4,
                mlp_ratios=4,
                kv_reduction='cr',
                cr_projection=False,
                # What mmdet's Mask2FormerHead checks against num_transformer_feat_level.
                layer_cfg=dict(self_attn_cfg=dict(num_levels=3))))))

# A stop at NaN / Inf weights or losses.
custom_hooks = [dict(type='NonFiniteCheckHook')]
