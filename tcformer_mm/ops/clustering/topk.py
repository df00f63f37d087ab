"""CTM-topk (TPAMI Table IX): the tokens with the highest importance score are the centres."""
from torch import Tensor

from .base import DEFAULT_RATIO, ClusteringMethod, check_positive_int, register_clustering
from .distance import DEFAULT_BLOCK_BYTES
from .dpc_knn import select_centres
from .partition import Partition
from .search import TokenSearch


@register_clustering('topk')
class TopK(ClusteringMethod):
    """Centres = the M tokens of each part with the highest ``tokens.score`` (ties: lowest
    index); every token joins its nearest centre (DPC-kNN's distance), a centre itself.

    Args:
        ratio (float): Fraction of the tokens kept as clusters. Default: 0.25.
        max_block_bytes (int): Memory bound of one block of the (N, M) distance matrix.
    """

    def __init__(self, ratio: float = DEFAULT_RATIO, max_block_bytes: int = DEFAULT_BLOCK_BYTES):
        super().__init__(ratio)
        self.max_block_bytes = check_positive_int('topk', 'max_block_bytes', max_block_bytes)

    def cluster_parts(self, tokens, parts: Partition) -> Tensor:
        if tokens.score is None:
            raise ValueError('topk clustering needs the importance score: tokens.score is None')
        score = parts.gather(tokens.score.detach().float(), fill=float('-inf')).squeeze(-1)
        centres = select_centres(score, parts.num_clusters)
        return TokenSearch(parts.x, parts.valid, self.max_block_bytes).nearest_centre(centres)

    def flops(self, num_tokens: int, channels: int, num_parts: int, num_clusters: int) -> int:
        # No published count: DPC-kNN's assignment, every token against its part's centres.
        return num_tokens * num_clusters * channels
