# The TCFormer image classifier of the papers: the mean of the backbone's last-stage token
# features into a linear classifier (TCFormerV2-Small here; the configs set the arch).
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='TCFormer',
                  arch='v2-small',
                  out_indices=(3, ),
                  drop_path_rate=0.1,
                  output_format='tokens'),
    neck=dict(type='TokenGlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=512,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        # The released model initialises its classifier like every Linear layer.
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
)
