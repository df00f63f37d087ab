"""Token clustering methods of the CTM: DPC-kNN (global and local), k-means, BSM, CTM-topk.

Each method is one module that registers itself (:func:`register_clustering`); importing this
package imports them, so :data:`CLUSTERING_METHODS` lists every method by its config name.
"""
from typing import Union

from .base import CLUSTERING_METHODS, DEFAULT_RATIO, ClusteringMethod, Clusters, register_clustering
from .bsm import BipartiteSoftMatching
from .dpc_knn import DPCKNN, dpc_knn, dpc_knn_score
from .kmeans import KMeans
from .partition import Partition, clusters_per_part, partition_tokens
from .topk import TopK


def build_clustering(cfg: Union[str, dict, ClusteringMethod]) -> ClusteringMethod:
    """Build a clustering method from its name or a dict ``dict(type=name, **kwargs)``.

    Args:
        cfg (str | dict | ClusteringMethod): e.g. ``'dpc_knn'`` or
            ``dict(type='dpc_knn', k=5, ratio=0.25)``; an already built method is returned as
            is.

    Returns:
        ClusteringMethod: A callable ``method(tokens, num_parts) -> Clusters``.

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
    'CLUSTERING_METHODS', 'DEFAULT_RATIO', 'build_clustering', 'register_clustering', 'Clusters',
    'ClusteringMethod', 'DPCKNN', 'KMeans', 'BipartiteSoftMatching', 'TopK', 'Partition',
    'partition_tokens', 'clusters_per_part', 'dpc_knn', 'dpc_knn_score'
]
