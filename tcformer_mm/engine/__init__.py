"""Runner extensions of tcformer_mm; importing this registers them (see ``registry.py``)."""
from .released_checkpoint_hook import ReleasedCheckpointHook
from .token_vis_hook import TokenVisHook

__all__ = ['ReleasedCheckpointHook', 'TokenVisHook']
