"""Analysis tools: FLOPs counted the way the TCFormer papers count them."""
from .config_flops import build_model, config_flops
from .flops import (CATEGORIES, FlopCounter, FlopsResult, clustering_flops, count_flops,
                    token_transform_flops)

__all__ = [
    'CATEGORIES', 'FlopCounter', 'FlopsResult', 'build_model', 'clustering_flops', 'config_flops',
    'count_flops', 'token_transform_flops'
]
