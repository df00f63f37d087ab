"""CTM-topk (TPAMI Table IX): the tokens with the highest importance score are the centres."""
from torch import Tensor

from .base import ClusteringMethod, register_clustering
from .dpc_knn import select_centres
from .partition import Partition
from .search import TokenSearch


@register_clustering('topk')
class TopK(ClusteringMethod):
    """Centres = the M tokens of each part with the highest ``tokens.score`` (ties: lowest
    index); every token joins its nearest centre (DPC-kNN's distance), a centre itself.

    Args:
        **kwargs: ``ratio`` and ``max_block_bytes`` of :class:`ClusteringMethod`.
    """

    def cluster_parts(self, tokens, parts: Partition) -> Tensor:
        if tokens.score is None:
            raise ValueError('topk clustering needs the importance score: tokens.score is None')
        score = parts.gather(tokens.score.detach().float(), fill=float('-inf')).squeeze(-1)
        centres = select_centres(score, parts.num_clusters)
        return TokenSearch(parts.x, parts.valid, self.max_block_bytes).nearest_centre(centres)

    def flops(self, num_tokens: int, channels: int, num_parts: int, num_clusters: int) -> int:
        # No published count: DPC-kNN's assignment, every token against its part's centres.
        return num_tokens * num_clusters * channels
