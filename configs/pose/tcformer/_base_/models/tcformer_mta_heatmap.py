# TCFormerV1 + MTA heatmap head (CVPR section 3.4, TPAMI section 3.2): the backbone's four token
# sets go to the MTA neck, whose stride-4 map feeds a 1x1 conv to one heatmap per keypoint
# (133, COCO-WholeBody's). The head decodes with the dataset base's codec, which the configs
# pass as `decoder`.
_base_ = ['./tcformer_topdown.py']

model = dict(
    # The papers' MTA head as released: 256 channels, 4 heads, MLP ratio 4, average-pooled keys
    # and values; its stride-4 map (out_indices=(0, )) feeds the heatmap head.
    neck=dict(type='MTA',
              in_channels=[64, 128, 320, 512],
              out_channels=256,
              num_outs=4,
              num_heads=4,
              mlp_ratios=4,
              kv_reduction='pool',
              out_indices=(0, )),
    head=dict(type='HeatmapHead',
              in_channels=256,
              out_channels=133,
              deconv_out_channels=None,
              loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    test_cfg=dict(
        flip_test=True,
        flip_mode='heatmap',
        shift_heatmap=True,
    ))
