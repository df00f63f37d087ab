from .ckpt_convert import (is_released_classifier, load_converted_state_dict,
                           tcformer_classifier_convert, tcformer_convert, unwrap_state_dict)

__all__ = [
    'is_released_classifier', 'load_converted_state_dict', 'tcformer_classifier_convert',
    'tcformer_convert', 'unwrap_state_dict'
]
