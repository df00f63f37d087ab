# A top-down pose estimator on a TCFormerV1 backbone: mmpose's TopdownPoseEstimator with the
# ImageNet normalisation; the model bases and configs add the neck and the head.

# The ImageNet-1k checkpoint of configs/classification/tcformer/tcformerv1_8xb128_in1k.py, where
# tools/train.py writes it; the released TCFormer checkpoint put there loads as well (the
# backbone converts it on load).
pretrained = 'work_dirs/tcformerv1_8xb128_in1k/epoch_300.pth'

model = dict(type='TopdownPoseEstimator',
             data_preprocessor=dict(type='PoseDataPreprocessor',
                                    mean=[123.675, 116.28, 103.53],
                                    std=[58.395, 57.12, 57.375],
                                    bgr_to_rgb=True),
             backbone=dict(type='TCFormer',
                           arch='v1',
                           drop_path_rate=0.1,
                           output_format='tokens',
                           init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
