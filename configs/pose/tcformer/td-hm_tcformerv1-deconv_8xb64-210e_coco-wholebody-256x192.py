# Ablation "TCFormer w/o MTA Head", COCO-WholeBody v1.0, 256x192 (CVPR Table 1: whole-body AP
# 0.553, AR 0.662). No MTA: the last stage's feature map (stride 32) goes to SimpleBaseline's
# deconvolution head (three 4x4 stride-2 deconvolutions with 256 channels, then a 1x1 conv),
# mmpose's HeatmapHead defaults; same recipe.
_base_ = ['./td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py']

model = dict(backbone=dict(out_indices=(3, ), output_format='maps'),
             neck=None,
             head=dict(in_channels=512,
                       deconv_out_channels=(256, 256, 256),
                       deconv_kernel_sizes=(4, 4, 4)))
