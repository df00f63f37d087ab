"""Token clustering methods of the CTM: DPC-kNN (global and local), k-means, BSM, CTM-topk."""
from typing import Dict, Type, Union

from .base import ClusteringMethod
from .bsm import BipartiteSoftMatching
from .dpc_knn import DPCKNN, dpc_knn, dpc_knn_score
from .kmeans import KMeans
from .partition import Partition, partition_tokens
from .topk import TopK

#: Name -> class of every clustering method, as used in configs (``dict(type='dpc_knn')``).
CLUSTERING_METHODS: Dict[str, Type[ClusteringMethod]] = {
    'dpc_knn': DPCKNN,
    'kmeans': KMeans,
    'bsm': BipartiteSoftMatching,
    'topk': TopK,
}


def build_clustering(cfg: Union[str, dict, ClusteringMethod]) -> ClusteringMethod:
    """Build a clustering method from its name or a dict ``dict(type=name, **kwargs)``.

    Args:
        cfg (str | dict | ClusteringMethod): e.g. ``'dpc_knn'`` or ``dict(type='dpc_knn', k=5)``;
            an already built method is returned as is.

    Returns:
        ClusteringMethod: A callable ``method(tokens, num_parts, ratio)``.

    Raises:
        ValueError: On an unknown type or a dict without ``type``.
    """
    if isinstance(cfg, ClusteringMethod):
        return cfg
    if isinstance(cfg, str):
        cfg = dict(type=cfg)
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'clustering config must be a name or a dict with a "type" key, '
                         f'got {cfg!r}')
    kwargs = dict(cfg)
    name = kwargs.pop('type')
    if name not in CLUSTERING_METHODS:
        raise ValueError(f'unknown clustering type {name!r}; valid types: '
                         f'{sorted(CLUSTERING_METHODS)}')
    method = CLUSTERING_METHODS[name]
    try:
        return method(**kwargs)
    except TypeError as e:
        raise TypeError(f'clustering {name!r}: {e} (arguments given: {sorted(kwargs)}); see '
                        f'{method.__name__}') from None


__all__ = [
    'CLUSTERING_METHODS', 'build_clustering', 'ClusteringMethod', 'DPCKNN', 'KMeans',
    'BipartiteSoftMatching', 'TopK', 'Partition', 'partition_tokens', 'dpc_knn', 'dpc_knn_score'
]
