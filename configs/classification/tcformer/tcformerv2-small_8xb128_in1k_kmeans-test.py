# TPAMI Table IX: the TCFormerV2-Small classifier (trained with local DPC-kNN) evaluated with
# k-means (centres initialised by adaptive average pooling, 10 iterations), no fine-tuning.
# For tools/test.py with a trained tcformerv2-small_8xb128_in1k checkpoint.
# Global, like the table's row: its 11.7 GFLOPs exceed global DPC-kNN's 5.9.
_base_ = ['./tcformerv2-small_8xb128_in1k.py']

model = dict(backbone=dict(clustering=dict(type='kmeans', num_iters=10), num_parts=(1, 1, 1)))
