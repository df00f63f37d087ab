"""Let a runner's ``load_from`` take the released TCFormer whole-body pose checkpoints."""
from mmengine.hooks import Hook

from tcformer_mm.models.utils.pose_ckpt_convert import (is_released_pose_checkpoint,
                                                        tcformer_pose_convert)
from tcformer_mm.registry import register_module


@register_module(registry='HOOKS')
class ReleasedPoseCheckpointHook(Hook):
    """Convert a released (mmpose 0.x layout) TCFormer pose checkpoint when the runner loads it.

    The whole-body checkpoints released with the CVPR paper, and those of the mmpose 0.x port,
    name the head ``keypoint_head.*`` and (the port's) stage-1 patch embedding
    ``backbone.patch_embed1.projection.*``. The runner loads ``load_from`` (and the checkpoint
    of ``tools/test.py``) non-strictly, so such keys would be skipped with a warning and the
    model evaluated with untrained weights. Right after the runner reads a checkpoint, this hook
    rewrites a released one in place (:func:`tcformer_pose_convert`); other checkpoints pass
    unchanged.

    ``mmpose.apis.init_model`` and ``MMPoseInferencer`` load weights without a runner: give them
    a checkpoint converted by ``tools/model_converters/tcformer_pose2mmpose.py``.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Convert ``checkpoint`` in place if it is in the released layout."""
        if not is_released_pose_checkpoint(checkpoint):
            return
        state_dict = tcformer_pose_convert(checkpoint)
        meta = checkpoint.get('meta', {})
        checkpoint.clear()
        checkpoint['state_dict'] = state_dict
        checkpoint['meta'] = meta
        runner.logger.info('ReleasedPoseCheckpointHook: converted a released TCFormer pose '
                           f'checkpoint ({len(state_dict)} keys) to the mmpose 1.x layout.')
