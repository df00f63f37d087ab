# Mask R-CNN with TCFormerV2 and an MTA neck in FPN's place (TPAMI section 4.4, Table VII):
# mmdet's Mask R-CNN (RPN, RoI heads, train/test settings) on the backbone's token sets. The
# neck outputs the four backbone levels and a fifth (P6) from a stride-2 3x3 conv on the stage-4
# map ('on_input'); mmdet's Mask R-CNN FPN max-pools P5 instead, but Table VII's #Param counts
# that conv (512 -> 256, 1.18M) in every Mask R-CNN row.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'
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
    # CR-MTA (TPAMI section 3.2.2) with the FPN's 256 channels and five levels; light setting
    # (MLP ratio 1, CR projection), see _base_/retinanet_tcformerv2_mta.py.
    neck=dict(type='MTA',
              add_extra_convs='on_input',
              in_channels=[64, 128, 320, 512],
              num_heads=4,
              mlp_ratios=1,
              kv_reduction='cr',
              cr_projection=True))
