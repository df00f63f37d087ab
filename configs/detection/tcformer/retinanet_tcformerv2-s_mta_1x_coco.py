# RetinaNet 1x, TCFormerV2-Small + CR-MTA (TPAMI Table VII, RetinaNet 1x: 34.5M, 45.0 mAP).
_base_ = './retinanet_tcformerv2-t_mta_1x_coco.py'

model = dict(backbone=dict(arch='v2-small',
                           init_cfg=dict(
                               checkpoint='work_dirs/tcformerv2-small_8xb128_in1k/epoch_300.pth')))
