"""OpenMMLab modules of tcformer_mm; importing this registers them (see ``registry.py``)."""
from .backbones import TCFormer  # noqa: F401  (registers TCFormer)
from .layers import CTM, GridBlock, OverlapPatchEmbed, TCBlock, TokenConv
from .necks import MTA, MTAPixelDecoder, TokenGlobalAveragePooling

__all__ = [
    'TCFormer', 'MTA', 'MTAPixelDecoder', 'TokenGlobalAveragePooling', 'CTM', 'GridBlock',
    'OverlapPatchEmbed', 'TCBlock', 'TokenConv'
]
