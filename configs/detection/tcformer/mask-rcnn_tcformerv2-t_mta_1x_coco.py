# Mask R-CNN 1x, TCFormerV2-Tiny + CR-MTA (TPAMI Table VII, Mask R-CNN 1x: 34.1M, 42.6 box AP,
# 39.2 mask AP). mmdet's COCO 1x recipe (8 GPUs x 2 images, 800x1333, flip, 12 epochs, steps at
# 8 and 11) with AdamW at lr 1e-4, the papers' only change; weight decay 1e-4 as mmdet's PVT
# configs.
_base_ = [
    './_base_/mask-rcnn_tcformerv2_mta.py',
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedule_1x.py',
]
