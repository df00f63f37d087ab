from .mta import MTA
from .mta_pixel_decoder import MTAPixelDecoder
from .token_gap import TokenGlobalAveragePooling

__all__ = ['MTA', 'MTAPixelDecoder', 'TokenGlobalAveragePooling']
