"""Let a runner's ``load_from`` take the released TCFormer classification checkpoints."""
from mmengine.hooks import Hook

from tcformer_mm.models.utils.ckpt_convert import (is_released_classifier,
                                                   tcformer_classifier_convert)
from tcformer_mm.registry import register_module


@register_module(registry='HOOKS')
class ReleasedCheckpointHook(Hook):
    """Convert a released TCFormer classification checkpoint when the runner loads it.

    The original repository saves ``{'model': state_dict, 'optimizer': ...}`` with the
    backbone keys at the top level and the classifier as ``head.*``. mmengine reads
    ``checkpoint['state_dict']`` (or the whole dict) into the ``ImageClassifier``, so such a
    file given as ``load_from`` (or to ``tools/test.py``) would match no key and load nothing,
    with only a warning. Right after the runner reads a checkpoint, this hook rewrites a
    released one in place into ``{'state_dict': backbone.* + head.fc.*}``
    (:func:`tcformer_classifier_convert`); other checkpoints pass unchanged.

    ``mmpretrain.ImageClassificationInferencer`` loads weights without a runner: give it a
    checkpoint converted by ``tools/model_converters/tcformer2mmpretrain.py``.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Convert ``checkpoint`` in place if it is in the released layout."""
        if 'state_dict' in checkpoint or not is_released_classifier(checkpoint):
            return
        state_dict = tcformer_classifier_convert(checkpoint)
        checkpoint.clear()
        checkpoint['state_dict'] = state_dict
        runner.logger.info('ReleasedCheckpointHook: converted a released TCFormer checkpoint '
                           f'({len(state_dict)} keys) to the mmpretrain classifier layout.')
