# TCFormerV1-Large (TCFormer-Large in the CVPR paper) on ImageNet-1k (TPAMI Table I).
_base_ = ['./_base_/tcformer_8xb128_in1k.py']

model = dict(backbone=dict(arch='v1-large', drop_path_rate=0.3))

# PVT's recipe for its large model, which the released TCFormer-Large followed: clip the
# gradient norm at 1.0 (timm's --clip-grad 1.0).
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
