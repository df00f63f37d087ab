"""Let a runner's ``load_from`` take the released TCFormer checkpoints (classification, pose)."""
from mmengine.hooks import Hook

from tcformer_mm.registry import register_module
from .convert import is_released_classifier, tcformer_classifier_convert
from .pose import is_released_pose_checkpoint, tcformer_pose_convert


@register_module(registry='HOOKS')
class ReleasedCheckpointHook(Hook):
    """Convert a released TCFormer checkpoint when the runner loads it.

    The runner loads ``load_from`` (and the checkpoint of ``tools/test.py``) non-strictly, so
    a released file whose keys do not match would load nothing, with only a warning, and the
    model would be evaluated untrained. Right after the runner reads a checkpoint, this hook
    rewrites one of the released layouts in place into ``{'state_dict': ..., 'meta': ...}``;
    other checkpoints pass unchanged:

    - the original classification repository, ``{'model': state_dict, 'optimizer': ...}``
      with the backbone keys at the top level and the classifier as ``head.*``: to mmpretrain's
      ``ImageClassifier`` (:func:`tcformer_classifier_convert`);
    - whole-body pose checkpoints in the mmpose 0.x layout (``keypoint_head.*``, and the
      port's ``backbone.patch_embed1.projection.*``): to mmpose 1.x's ``TopdownPoseEstimator``
      (:func:`tcformer_pose_convert`).

    The inferencers load weights without a runner: give them a checkpoint converted by
    ``tools/model_converters/tcformer2mmpretrain.py`` or ``tcformer_pose2mmpose.py``.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Convert ``checkpoint`` in place if it is in a released layout."""
        if 'state_dict' not in checkpoint and is_released_classifier(checkpoint):
            state_dict, target = tcformer_classifier_convert(checkpoint), 'mmpretrain classifier'
        elif is_released_pose_checkpoint(checkpoint):
            state_dict, target = tcformer_pose_convert(checkpoint), 'mmpose 1.x top-down'
        else:
            return
        meta = checkpoint.get('meta', {})
        checkpoint.clear()
        checkpoint.update(state_dict=state_dict, meta=meta)
        runner.logger.info(f'ReleasedCheckpointHook: converted a released TCFormer checkpoint '
                           f'({len(state_dict)} keys) to the {target} layout.')
