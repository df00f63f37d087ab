from .ckpt_convert import load_converted_state_dict, tcformer_convert, unwrap_state_dict

__all__ = ['load_converted_state_dict', 'tcformer_convert', 'unwrap_state_dict']
