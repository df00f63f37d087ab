from .mta import MTA
from .token_gap import TokenGlobalAveragePooling

__all__ = ['MTA', 'TokenGlobalAveragePooling']
