"""Common interface of the token clustering methods of the CTM."""
from typing import Tuple

import torch
from torch import Tensor

from ..token_set import TokenSet
from .distance import full_fp32
from .partition import Partition, partition_tokens


def check_positive_int(owner: str, name: str, value) -> int:
    """``value`` if it is an int >= 1; otherwise a ValueError naming ``owner.name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{owner}: {name} must be a positive integer, got {value!r}')
    return value


class ClusteringMethod:
    """Base class: partition the tokens, cluster every part, map the ids back.

    Calling a method returns ``(idx_cluster, num_clusters)``: ``idx_cluster`` (B, N) long in
    [0, num_clusters), the same ``num_clusters`` = P * M for every image, ordered part-major
    (part p owns the ids [p*M, (p+1)*M)). Everything runs under ``torch.no_grad()`` and is
    deterministic. Subclasses implement :meth:`cluster_parts`.
    """

    def __call__(self,
                 tokens: TokenSet,
                 num_parts: int = 1,
                 ratio: float = 0.25) -> Tuple[Tensor, int]:
        """Cluster the tokens.

        Args:
            tokens (TokenSet): ``x`` (B, N, C) are the features to cluster (conv + LayerNorm'ed
                by the CTM); ``score`` (B, N, 1) the importance score (needed by CTM-topk).
            num_parts (int): P = s * s spatial parts (1: global clustering).
            ratio (float): Fraction of the tokens kept as clusters.

        Returns:
            tuple[Tensor, int]: idx_cluster (B, N) long, and num_clusters.
        """
        # Clustering is a discrete choice: no gradient, and fp32 distances (no autocast, no
        # TF32).
        with torch.no_grad(), torch.autocast(tokens.x.device.type, enabled=False), full_fp32():
            parts = partition_tokens(tokens, num_parts, ratio)
            local = self.cluster_parts(tokens, parts)
            return parts.scatter_back(local), parts.num_parts * parts.num_clusters

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

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items())
        return f'{type(self).__name__}({args})'
