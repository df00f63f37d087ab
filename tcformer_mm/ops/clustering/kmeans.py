"""k-means token clustering (TPAMI Table IX ablation)."""
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..transforms import token2map
from .base import ClusteringMethod, check_positive_int, register_clustering
from .distance import nearest_centre
from .partition import Partition, num_windows_per_side


@register_clustering('kmeans')
class KMeans(ClusteringMethod):
    """k-means with centres initialised by adaptive average pooling of the feature map.

    Initialisation: the tokens are drawn on their map (``token2map``) and the map is pooled
    (``adaptive_avg_pool2d``) to s*gh x s*gw cells, gh x gw >= M cells per window with the
    window's aspect ratio; each part takes M of its gh*gw pooled cells, evenly spaced in raster
    order, as initial centres. Then ``num_iters`` Lloyd iterations (assign every real token to
    its nearest centre, move every centre to the mean of its tokens) and a final assignment.

    A centre that loses all its tokens keeps its position, so a cluster can end empty: the
    merge then yields a zero token that covers no grid cell (eq. 3's 1e-6 denominator), and
    the transforms ignore it. Deterministic: no random initialisation.

    Args:
        num_iters (int): Lloyd iterations. Default: 10.
        **kwargs: ``ratio`` and ``max_block_bytes`` of :class:`ClusteringMethod`.
    """

    def __init__(self, num_iters: int = 10, **kwargs):
        super().__init__(**kwargs)
        self.num_iters = check_positive_int('kmeans', 'num_iters', num_iters)

    def initial_centres(self, tokens, parts: Partition) -> Tensor:
        """Initial centres (B*P, M, C) from the pooled feature map."""
        M = parts.num_clusters
        s = num_windows_per_side(parts.num_parts)
        H, W = tokens.map_size
        gh = min(M, max(1, round(math.sqrt(M * H / W))))
        gw = math.ceil(M / gh)
        feature_map = token2map(tokens.replace(x=tokens.x.detach().float()))
        pooled = F.adaptive_avg_pool2d(feature_map, (s * gh, s * gw))
        B, C = pooled.shape[:2]
        # (B, C, s, gh, s, gw) -> (B, s, s, gh, gw, C): part pr * s + pc, cells in raster order.
        pooled = pooled.reshape(B, C, s, gh, s, gw).permute(0, 2, 4, 3, 5, 1)
        pooled = pooled.reshape(B * s * s, gh * gw, C)
        pick = torch.arange(M, device=pooled.device) * (gh * gw) // M
        return pooled[:, pick]

    def cluster_parts(self, tokens, parts: Partition) -> Tensor:
        x = parts.x.float()
        BP, Np, C = x.shape
        M = parts.num_clusters
        weight = parts.valid.reshape(-1, 1).float()
        offsets = torch.arange(BP, device=x.device).unsqueeze(1) * M
        centres = self.initial_centres(tokens, parts)
        for _ in range(self.num_iters):
            assign = (nearest_centre(x, centres, self.max_block_bytes) + offsets).reshape(-1)
            sums = x.new_zeros(BP * M, C).index_add_(0, assign, x.reshape(-1, C) * weight)
            counts = x.new_zeros(BP * M, 1).index_add_(0, assign, weight)
            centres = torch.where(counts > 0, sums / counts.clamp(min=1),
                                  centres.reshape(BP * M, C)).reshape(BP, M, C)
        return nearest_centre(x, centres, self.max_block_bytes)

    def flops(self, num_tokens: int, channels: int, num_parts: int, num_clusters: int) -> int:
        # Every iteration measures every token against its part's centres; the papers'
        # k-means row (TPAMI Table IX, 11.7 GFLOPs) counts it twice per iteration.
        return 2 * self.num_iters * num_tokens * num_clusters * channels
