# RetinaNet with TCFormerV2 and an MTA neck in FPN's place (TPAMI section 4.4, Table VII):
# mmdet's RetinaNet (head, anchors, focal loss, train/test settings) on the backbone's token
# sets. As mmdet's RetinaNet FPN, the neck starts at stage 2 (start_level=1) and adds P6 and P7
# by stride-2 3x3 convs, the first on the stage-4 map ('on_input').
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)

model = dict(
    # No TCFormerV2 weights were released: the ImageNet-1k checkpoint of
    # configs/classification/tcformer/tcformerv2-tiny_8xb128_in1k.py, where tools/train.py
    # writes it (its `backbone.` keys); the larger rows name theirs.
    backbone=dict(_delete_=True,
                  type='TCFormer',
                  arch='v2-tiny',
                  drop_path_rate=0.1,
                  output_format='tokens',
                  init_cfg=dict(type='Pretrained',
                                checkpoint='work_dirs/tcformerv2-tiny_8xb128_in1k/epoch_300.pth')),
    # CR-MTA (TPAMI section 3.2.2) with the FPN's channels, levels and extra convs. The light
    # setting (MLP ratio 1, CR projection) is TPAMI Table VIII's CR-MTA; the configs of the
    # larger rows switch to MLP ratio 4 without the projection: each row's #Param pins its
    # setting (README.md, "Parameters").
    neck=dict(type='MTA',
              in_channels=[64, 128, 320, 512],
              num_heads=4,
              mlp_ratios=1,
              kv_reduction='cr',
              cr_projection=True))
