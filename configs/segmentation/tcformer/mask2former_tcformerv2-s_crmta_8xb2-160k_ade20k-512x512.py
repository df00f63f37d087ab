# TCFormerV2-Small + Mask2Former with CR-MTA as the pixel decoder, ADE20K 512x512: TPAMI
# Table VI (42.4M, 56.8 GFLOPs, 49.1 mIoU).
_base_ = ['./_base_/mask2former_tcformer_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(arch='v2-small'))
