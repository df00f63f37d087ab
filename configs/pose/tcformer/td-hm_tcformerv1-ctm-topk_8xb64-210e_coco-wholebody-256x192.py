# Ablation "TCFormer w/ CTM-topk", COCO-WholeBody v1.0, 256x192 (CVPR supplement Table S3:
# whole-body AP 0.502, AR 0.608). TCFormerV1 + MTA whose CTMs take the tokens of highest
# importance score as cluster centres instead of DPC-kNN's; same recipe.
_base_ = ['./td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py']

model = dict(backbone=dict(clustering=dict(type='topk')))
