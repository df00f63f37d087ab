# TCFormerV2-Small + CR-MTA heatmap head, COCO-WholeBody v1.0, 256x192 (TPAMI Table II
# "TCFormerV2-Small": whole-body AP 0.575, AR 0.682, 7.3 GFLOPs). The V1 recipe; the backbone
# clusters locally (16 / 4 / 1 parts) and the MTA merge blocks take their keys and values from
# the clustering (CR-MTA) instead of average pooling.
_base_ = ['./td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py']

# No TCFormerV2 weights were released: the ImageNet-1k checkpoint of
# configs/classification/tcformer/tcformerv2-small_8xb128_in1k.py, where tools/train.py writes it.
pretrained = 'work_dirs/tcformerv2-small_8xb128_in1k/epoch_300.pth'

model = dict(backbone=dict(arch='v2-small', init_cfg=dict(checkpoint=pretrained)),
             neck=dict(kv_reduction='cr'))
