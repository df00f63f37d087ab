"""Runner extensions of tcformer_mm; importing this registers them (see ``registry.py``)."""
from .token_vis_hook import TokenVisHook

__all__ = ['TokenVisHook']
