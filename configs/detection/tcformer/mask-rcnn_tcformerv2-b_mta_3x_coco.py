# Mask R-CNN 3x, TCFormerV2-Base + CR-MTA (TPAMI Table VII, Mask R-CNN 3x: 83.7M, 49.8 box AP,
# 44.4 mask AP).
_base_ = './mask-rcnn_tcformerv2-s_mta_3x_coco.py'

model = dict(backbone=dict(arch='v2-base',
                           init_cfg=dict(
                               checkpoint='work_dirs/tcformerv2-base_8xb128_in1k/epoch_300.pth')))
