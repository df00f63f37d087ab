from .attention import MultiHeadAttention
from .clustering_reduction import ClusteringReduction
from .ctm import CTM
from .grid_block import GridAttention, GridBlock, GridMlp
from .patch_embed import OverlapPatchEmbed
from .tc_block import TCAttention, TCBlock, TCMlp
from .token_conv import TokenConv

__all__ = [
    'MultiHeadAttention', 'ClusteringReduction', 'CTM', 'GridAttention', 'GridBlock', 'GridMlp',
    'OverlapPatchEmbed', 'TCAttention', 'TCBlock', 'TCMlp', 'TokenConv'
]
