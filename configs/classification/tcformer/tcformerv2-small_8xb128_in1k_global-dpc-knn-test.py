# TPAMI Table IX: the TCFormerV2-Small classifier (trained with local DPC-kNN) evaluated with
# global DPC-kNN, TCFormerV1's clustering, no fine-tuning.
# For tools/test.py with a trained tcformerv2-small_8xb128_in1k checkpoint.
_base_ = ['./tcformerv2-small_8xb128_in1k.py']

model = dict(backbone=dict(clustering=dict(type='dpc_knn', k=5), num_parts=(1, 1, 1)))
