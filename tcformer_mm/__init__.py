"""tcformer_mm: TCFormer and TCFormerV2 for OpenMMLab 2.0.

Importing the package registers the backbone and the necks into the ``MODELS`` registry (and
``ReleasedCheckpointHook`` into ``HOOKS``) of every installed codebase (mmpretrain, mmpose, mmseg,
mmdet), makes mmengine load checkpoints without running code from them, runner checkpoints
included (:mod:`tcformer_mm.checkpoint.loading`), and makes its runner write checkpoints
atomically (:mod:`tcformer_mm.checkpoint.saving`). Configs import it with
``custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)``.
"""
from .checkpoint import patch_mmengine_checkpoint_loader, patch_mmengine_checkpoint_saver
from .version import __version__, version_info

patch_mmengine_checkpoint_loader()
patch_mmengine_checkpoint_saver()

from . import engine, models  # noqa: E402,F401  (registration happens on import)

__all__ = ['__version__', 'version_info']
