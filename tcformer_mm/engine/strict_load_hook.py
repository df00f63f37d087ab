"""Refuse a checkpoint that does not fit the model, when the runner loads it for evaluation or
fine-tuning.

The runner loads ``load_from`` (and the checkpoint of ``tools/test.py``) non-strictly: a file of
another model loads nothing, with one "missing keys" line in a long log, and the untrained
model is evaluated. ``tools/test.py`` and ``tools/train.py`` (with ``load_from``) add this hook
unless ``--non-strict`` is given.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tcformer_mm.checkpoint.convert import mismatch_report, stage_names_for, strip_module_prefix
from tcformer_mm.registry import register_module


@register_module(registry='HOOKS')
class StrictLoadHook(Hook):
    """Check, right after the runner reads a checkpoint, that its ``state_dict`` has the
    model's keys.

    Args:
        prefixes (tuple[str]): Only keys under these prefixes count (by default the backbone's
            and the neck's: a fine-tuning checkpoint may legitimately lack a new head).
            An empty tuple checks every key. Defaults to ``('backbone.', 'neck.')``.
    """

    # After ReleasedCheckpointHook (VERY_HIGH), which converts released layouts first.
    priority = 'HIGH'

    def __init__(self, prefixes=('backbone.', 'neck.')):
        self.prefixes = tuple(prefixes)

    def _counted(self, keys) -> list:
        return [k for k in keys if not self.prefixes or k.startswith(self.prefixes)]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        # The model's load renames the released flat names of a TCFormer backbone (older
        # checkpoints of this package have them): they fit.
        theirs = stage_names_for(model,
                                 strip_module_prefix(checkpoint.get('state_dict', checkpoint)))
        ours = model.state_dict()
        missing = self._counted(k for k in ours if k not in theirs)
        unexpected = self._counted(k for k in theirs if k not in ours)
        if missing or unexpected:
            source = runner._load_from or 'the checkpoint'
            # The launchers' message has always said whose keys are missing from what
            # (tests/test_tools/test_cli_errors.py holds it to that).
            found = mismatch_report(missing,
                                    unexpected,
                                    missing_label="of the model's keys are missing from it")
            raise ValueError(
                f'{source} does not fit the model ({type(model).__name__}): '
                f'{"; ".join(found)}. '
                'Give the checkpoint of this config, or --non-strict to load what fits.')
