# TCFormerV1 (TCFormer in the CVPR paper) on ImageNet-1k (TPAMI Table I).
_base_ = ['./_base_/tcformer_8xb128_in1k.py']

model = dict(backbone=dict(arch='v1'))
