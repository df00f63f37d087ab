from .checkpoint import load_checkpoint_file, patch_mmengine_checkpoint_loader

__all__ = ['load_checkpoint_file', 'patch_mmengine_checkpoint_loader']
