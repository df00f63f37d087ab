from .tcformer import TCFormer

__all__ = ['TCFormer']
