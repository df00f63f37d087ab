# RetinaNet 1x, TCFormerV2-Tiny + CR-MTA (TPAMI Table VII, RetinaNet 1x: 23.1M, 41.7 mAP).
# mmdet's COCO 1x recipe (8 GPUs x 2 images, 800x1333, flip, 12 epochs, steps at 8 and 11)
# with AdamW at lr 1e-4, the papers' only change; weight decay 1e-4 as mmdet's PVT configs.
_base_ = [
    './_base_/retinanet_tcformerv2_mta.py',
    'mmdet::_base_/datasets/coco_detection.py',
    './_base_/schedule_1x.py',
]
