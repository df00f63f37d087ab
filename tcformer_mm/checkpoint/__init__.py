"""Checkpoints: loading without running a file's code, writing without leaving truncated files,
the released TCFormer layouts and their conversion, and the runner hook that converts them on
``load_from``.

Layouts are described in ``docs/checkpoints.md``.
"""
from .convert import (is_released_classifier, load_converted_state_dict,
                      tcformer_classifier_convert, tcformer_convert, unwrap_state_dict)
from .hook import ReleasedCheckpointHook
from .loading import (TRUST_ENV, UntrustedCheckpointError, load_checkpoint_file,
                      patch_mmengine_checkpoint_loader, save_converted)
from .pose import is_released_pose_checkpoint, tcformer_pose_convert
from .saving import CheckpointWriteError, patch_mmengine_checkpoint_saver, save_checkpoint_file

__all__ = [
    'TRUST_ENV', 'UntrustedCheckpointError', 'load_checkpoint_file',
    'patch_mmengine_checkpoint_loader', 'save_converted', 'CheckpointWriteError',
    'patch_mmengine_checkpoint_saver', 'save_checkpoint_file', 'is_released_classifier',
    'load_converted_state_dict', 'tcformer_classifier_convert', 'tcformer_convert',
    'unwrap_state_dict', 'ReleasedCheckpointHook', 'is_released_pose_checkpoint',
    'tcformer_pose_convert'
]
