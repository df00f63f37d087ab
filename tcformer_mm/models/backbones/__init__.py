from .tcformer import TCFormer
from .tcformer_stage import TCFormerStage

__all__ = ['TCFormer', 'TCFormerStage']
