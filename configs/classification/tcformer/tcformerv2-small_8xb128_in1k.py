# TCFormerV2-Small on ImageNet-1k (TPAMI Table I).
_base_ = ['./_base_/tcformer_8xb128_in1k.py']

model = dict(backbone=dict(arch='v2-small'))
