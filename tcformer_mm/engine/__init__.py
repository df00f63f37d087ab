"""Runner extensions of tcformer_mm; importing this registers them (see ``registry.py``)."""
from .released_checkpoint_hook import ReleasedCheckpointHook

__all__ = ['ReleasedCheckpointHook']
