"""CTM-topk (TPAMI Table IX): the tokens with the highest importance score are the centres."""
from torch import Tensor

from .base import ClusteringMethod, check_positive_int
from .distance import DEFAULT_BLOCK_BYTES
from .dpc_knn import assign_to_centres, select_centres
from .partition import Partition


class TopK(ClusteringMethod):
    """Centres = the M tokens of each part with the highest ``tokens.score`` (ties: lowest
    index); every token joins its nearest centre (DPC-kNN's distance), a centre itself.

    Args:
        max_block_bytes (int): Memory bound of one block of the (N, M) distance matrix.
    """

    def __init__(self, max_block_bytes: int = DEFAULT_BLOCK_BYTES):
        self.max_block_bytes = check_positive_int('topk', 'max_block_bytes', max_block_bytes)

    def cluster_parts(self, tokens, parts: Partition) -> Tensor:
        if tokens.score is None:
            raise ValueError('topk clustering needs the importance score: tokens.score is None')
        score = parts.gather(tokens.score.detach().float(), fill=float('-inf')).squeeze(-1)
        centres = select_centres(score, parts.num_clusters)
        return assign_to_centres(parts.x.float(), centres, self.max_block_bytes)
