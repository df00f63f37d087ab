"""tcformer_mm: TCFormer and TCFormerV2 for OpenMMLab 2.0.

Importing the package registers the backbone and the necks into the ``MODELS`` registry (and
``ReleasedCheckpointHook`` into ``HOOKS``) of every installed codebase (mmpretrain, mmpose, mmseg,
mmdet) and makes mmengine load runner checkpoints under torch >= 2.6 (see
:mod:`tcformer_mm.checkpoint.loading`). Configs import it with
``custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)``.
"""
from .checkpoint import patch_mmengine_checkpoint_loader
from .version import __version__, version_info

patch_mmengine_checkpoint_loader()

from . import engine, models  # noqa: E402,F401  (registration happens on import)

__all__ = ['__version__', 'version_info']
