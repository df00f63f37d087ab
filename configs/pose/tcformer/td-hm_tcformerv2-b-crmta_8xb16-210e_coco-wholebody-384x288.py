# TCFormerV2-Base + CR-MTA heatmap head, COCO-WholeBody v1.0, 384x288 (TPAMI Table II
# "TCFormerV2-Base": whole-body AP 0.651, AR 0.742, 31.7 GFLOPs). The TCFormerV1-Large 384x288
# recipe with local clustering and CR-MTA.
_base_ = ['./td-hm_tcformerv1-l_8xb16-210e_coco-wholebody-384x288.py']

# No TCFormerV2 weights were released: the ImageNet-1k checkpoint of
# configs/classification/tcformer/tcformerv2-base_8xb128_in1k.py, where tools/train.py writes it.
pretrained = 'work_dirs/tcformerv2-base_8xb128_in1k/epoch_300.pth'

model = dict(backbone=dict(arch='v2-base', init_cfg=dict(checkpoint=pretrained)),
             neck=dict(kv_reduction='cr'))
