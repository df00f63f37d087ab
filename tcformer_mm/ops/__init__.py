"""Dynamic-token operations of TCFormer in pure PyTorch (no OpenMMLab import).

TokenSet and Clusters, the token <-> map transforms, the CTM merge (eq. 3) and the token
clusterings; beside them ``reference`` (the same operations as dense code that reads like the
papers) and ``reference_model`` (the released network as functions of a state dict), which the
fast paths are tested against.
"""
from .clustering import CLUSTERING_METHODS, build_clustering
from .token_set import Clusters, TokenSet
from .transforms import (TokenMapPairs, grid_to_map_index, halves_own_map, map2token, merge_tokens,
                         pairs_for, token2map, token2token, token_map_pairs)

__all__ = [
    'TokenSet', 'Clusters', 'TokenMapPairs', 'token_map_pairs', 'pairs_for', 'halves_own_map',
    'token2map', 'map2token', 'token2token', 'merge_tokens', 'grid_to_map_index',
    'build_clustering', 'CLUSTERING_METHODS'
]
