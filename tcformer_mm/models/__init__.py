"""OpenMMLab modules of tcformer_mm; importing this registers them (see ``registry.py``)."""
from .backbones import TCFormer  # noqa: F401  (registers TCFormer)
from .layers import CTM, GridBlock, OverlapPatchEmbed, TCBlock, TokenConv

__all__ = ['TCFormer', 'CTM', 'GridBlock', 'OverlapPatchEmbed', 'TCBlock', 'TokenConv']
