"""Runner extensions of tcformer_mm; importing this registers them (see ``registry.py``)."""
from .released_checkpoint_hook import ReleasedCheckpointHook
from .released_pose_checkpoint_hook import ReleasedPoseCheckpointHook
from .token_vis_hook import TokenVisHook

__all__ = ['ReleasedCheckpointHook', 'ReleasedPoseCheckpointHook', 'TokenVisHook']
