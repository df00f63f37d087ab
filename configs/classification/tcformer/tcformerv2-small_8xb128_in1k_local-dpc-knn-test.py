# TPAMI Table IX: the TCFormerV2-Small classifier with the clustering it was trained with,
# local DPC-kNN in 16 / 4 / 1 parts (the reference row; the same model as the training config).
# For tools/test.py with a trained tcformerv2-small_8xb128_in1k checkpoint.
_base_ = ['./tcformerv2-small_8xb128_in1k.py']

model = dict(backbone=dict(clustering=dict(type='dpc_knn', k=5), num_parts=(16, 4, 1)))
