# TCFormerV2-Base + Mask2Former with CR-MTA as the pixel decoder, ADE20K 512x512: TPAMI
# Table VI (79.5M, 93.7 GFLOPs, 52.8 mIoU).
_base_ = ['./_base_/mask2former_tcformer_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(arch='v2-base',
                           init_cfg=dict(
                               checkpoint='work_dirs/tcformerv2-base_8xb128_in1k/epoch_300.pth')))
