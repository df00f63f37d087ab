# TPAMI Table IX: the TCFormerV2-Small classifier (trained with local DPC-kNN) evaluated with
# Bipartite Soft Matching ("BSF" in the paper's text; 5 steps per CTM to merge to a quarter),
# no fine-tuning. For tools/test.py with a trained tcformerv2-small_8xb128_in1k checkpoint.
# Global, like the table's row: its 6.0 GFLOPs exceed global DPC-kNN's 5.9.
_base_ = ['./tcformerv2-small_8xb128_in1k.py']

model = dict(backbone=dict(clustering=dict(type='bsm', num_steps=5), num_parts=(1, 1, 1)))
