"""Runner extensions of tcformer_mm; importing this registers them (see ``registry.py``)."""
from .cpu_amp import CPUAmpOptimWrapper
from .non_finite_hook import NonFiniteCheckHook
from .strict_load_hook import StrictLoadHook
from .token_vis_hook import TokenVisHook

__all__ = ['CPUAmpOptimWrapper', 'NonFiniteCheckHook', 'StrictLoadHook', 'TokenVisHook']
