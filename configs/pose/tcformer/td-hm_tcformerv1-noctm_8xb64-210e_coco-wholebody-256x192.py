# Ablation "TCFormer w/o CTM", COCO-WholeBody v1.0, 256x192 (CVPR Table 1 and supplement
# Table S3: whole-body AP 0.535, AR 0.639). TCFormerV1 + MTA with every CTM replaced by a strided
# convolution (3x3, stride 2, + LayerNorm): the tokens stay on the grid; same recipe.
_base_ = ['./td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py']

# The released ImageNet weights do not fit this backbone (patch embeddings instead of CTMs).
model = dict(backbone=dict(use_ctm=False, init_cfg=None))
