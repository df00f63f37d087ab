# TCFormerV2-Small without CTMs on ImageNet-1k: the pre-trained backbone of TPAMI Table VIII's
# "CNN + FPN" row, which
# configs/segmentation/tcformer/fpn_tcformerv2-s_noctm-fpn_8xb2-40k_ade20k-512x512.py loads.
# Every CTM is replaced by a strided 3x3 convolution (+ LayerNorm): the tokens stay on the grid,
# PVTv2-B2's shape; the recipe is the V2-Small one.
_base_ = ['./tcformerv2-small_8xb128_in1k.py']

model = dict(backbone=dict(use_ctm=False))
