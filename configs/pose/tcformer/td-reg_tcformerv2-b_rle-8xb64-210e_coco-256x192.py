# RLE + TCFormerV2-Base, COCO, 256x192 (TPAMI Table III: 62.4M parameters, 10.6 GFLOPs, val AP
# 76.0). The TCFormerV2-Small RLE recipe with the Base backbone.
_base_ = ['./td-reg_tcformerv2-s_rle-8xb64-210e_coco-256x192.py']

# The ImageNet-1k checkpoint of configs/classification/tcformer/tcformerv2-base_8xb128_in1k.py.
pretrained = 'work_dirs/tcformerv2-base_8xb128_in1k/epoch_300.pth'

model = dict(backbone=dict(arch='v2-base', init_cfg=dict(checkpoint=pretrained)))
