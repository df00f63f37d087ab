from .ckpt_convert import (is_released_classifier, load_converted_state_dict,
                           tcformer_classifier_convert, tcformer_convert, unwrap_state_dict)
from .pose_ckpt_convert import is_released_pose_checkpoint, tcformer_pose_convert

__all__ = [
    'is_released_classifier', 'load_converted_state_dict', 'tcformer_classifier_convert',
    'tcformer_convert', 'unwrap_state_dict', 'is_released_pose_checkpoint',
    'tcformer_pose_convert'
]
