"""What every token clustering of the CTM shares: its result, its call, its registry.

A clustering method is one class in one file, registered by name with
:func:`register_clustering`; configs name it (``dict(type='dpc_knn', k=5)``), the CTM calls it,
and the FLOPs counter asks it for its cost (:meth:`ClusteringMethod.flops`). Nothing else
needs to know it exists.
"""
from typing import Callable, Dict, Type

import torch
from torch import Tensor

from ..token_set import Clusters, TokenSet
from .distance import DEFAULT_BLOCK_BYTES, full_fp32
from .partition import Partition, partition_tokens

#: Fraction of the tokens a CTM keeps as clusters (the papers' 1/4, every method).
DEFAULT_RATIO = 0.25

#: Registered name -> class of every clustering method, e.g. ``'dpc_knn'``.
CLUSTERING_METHODS: Dict[str, Type['ClusteringMethod']] = {}


def check_positive_int(owner: str, name: str, value) -> int:
    """``value`` if it is an int >= 1; otherwise a ValueError naming ``owner.name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{owner}: {name} must be a positive integer, got {value!r}')
    return value


def check_ratio(owner: str, ratio) -> float:
    """``ratio`` if it is a number in (0, 1]; otherwise a ValueError naming ``owner.ratio``."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise ValueError(f'{owner}: ratio is the fraction of tokens kept as clusters, a number '
                         f'in (0, 1], got {ratio!r}')
    return float(ratio)


def register_clustering(name: str) -> Callable[[type], type]:
    """Class decorator: make a :class:`ClusteringMethod` buildable as ``dict(type=name)``."""

    def register(cls: type) -> type:
        if name in CLUSTERING_METHODS:
            raise ValueError(f'clustering {name!r} is already registered '
                             f'({CLUSTERING_METHODS[name].__name__})')
        if not (isinstance(cls, type) and issubclass(cls, ClusteringMethod)):
            raise TypeError(f'register_clustering({name!r}): {cls!r} is not a ClusteringMethod')
        cls.name = name
        CLUSTERING_METHODS[name] = cls
        return cls

    return register


class ClusteringMethod:
    """Base class: partition the tokens, cluster every part, map the ids back.

    The parts are clustered as one padded batch (:class:`Partition`): M clusters in each of
    the P parts, ids part-major. Everything runs under ``torch.no_grad()`` and is
    deterministic. A method implements :meth:`cluster_parts` and :meth:`flops`, and is
    registered with :func:`register_clustering`.

    Args:
        ratio (float): Fraction of the tokens kept as clusters. Defaults to
            :data:`DEFAULT_RATIO`.
        max_block_bytes (int): Memory bound of one block of a distance (or similarity) matrix.
            Defaults to ``distance.DEFAULT_BLOCK_BYTES``.
    """

    #: The registered name (set by :func:`register_clustering`).
    name = None

    def __init__(self, ratio: float = DEFAULT_RATIO, max_block_bytes: int = DEFAULT_BLOCK_BYTES):
        owner = self.name or type(self).__name__
        self.ratio = check_ratio(owner, ratio)
        self.max_block_bytes = check_positive_int(owner, 'max_block_bytes', max_block_bytes)

    def __call__(self, tokens: TokenSet, num_parts: int = 1) -> Clusters:
        """Cluster the tokens.

        Args:
            tokens (TokenSet): ``x`` (B, N, C) are the features to cluster (conv + LayerNorm'ed
                by the CTM); ``score`` (B, N, 1) the importance score (needed by CTM-topk).
            num_parts (int): P = s * s spatial parts (1: global clustering).

        Returns:
            Clusters: ``idx`` (B, N), ``num_clusters`` = P * M, ``parts`` = P.
        """
        # Clustering is a discrete choice: no gradient, and fp32 distances (no autocast, no
        # TF32).
        with torch.no_grad(), torch.autocast(tokens.x.device.type, enabled=False), full_fp32():
            parts = partition_tokens(tokens, num_parts, self.ratio)
            local = self.cluster_parts(tokens, parts)
            return Clusters(parts.scatter_back(local), parts.num_parts * parts.num_clusters,
                            parts.num_parts)

    def cluster_parts(self, tokens: TokenSet, parts: Partition) -> Tensor:
        """Cluster every part of the padded batch.

        Args:
            tokens (TokenSet): The tokens being clustered (for methods that need the map).
            parts (Partition): x (B*P, Np, C), valid (B*P, Np), M = ``parts.num_clusters``.

        Returns:
            Tensor: Long, shape (B*P, Np), cluster ids in [0, M) of the real tokens (padding
            may hold anything).
        """
        raise NotImplementedError

    def flops(self, num_tokens: int, channels: int, num_parts: int, num_clusters: int) -> int:
        """FLOPs of clustering one image's tokens, as the papers' counter counts them.

        Args:
            num_tokens (int): N, tokens clustered.
            channels (int): C, their channels.
            num_parts (int): P, spatial parts clustered separately.
            num_clusters (int): M, clusters per part.

        Returns:
            int: FLOPs (multiply-accumulates once), without the merge.
        """
        raise NotImplementedError(f'clustering {self.name or type(self).__name__!r} declares '
                                  f'no FLOPs rule: implement {type(self).__name__}.flops')

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items())
        return f'{type(self).__name__}({args})'
