"""Conversion of the released TCFormer checkpoints to the keys of :class:`TCFormer`.

Layouts read (``docs/checkpoints.md``):

- original classification repository: ``{'model': state_dict, 'optimizer': ..., ...}``, backbone
  keys at the top level plus the classifier ``head.weight`` / ``head.bias``;
- mmpose 0.x (whole-body pose): ``{'state_dict': ...}`` with ``backbone.``, ``neck.`` and
  ``keypoint_head.`` prefixes, and in the port's own checkpoints ``patch_embed1.projection.*``
  for ``patch_embed1.proj.*``;
- OpenMMLab 2.0 checkpoints of this package (``backbone.`` prefix) and bare state dicts.

Beyond unwrapping and prefix handling, the mmpose 0.x patch-embedding name becomes the released
one (:data:`RENAMES`), and the released flat module names the keys of :class:`TCFormer`'s
stages (:func:`~tcformer_mm.checkpoint.names.to_stage_names`).
"""
import re
from collections import OrderedDict
from typing import List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .names import stage_key, to_stage_names

#: Renames to the released names, applied to backbone keys (old prefix -> new prefix).
RENAMES = (('patch_embed1.projection.', 'patch_embed1.proj.'), )
#: Top-level keys of the released classifier (dropped for a backbone-only load).
HEAD_PREFIX = 'head.'
#: Keys every TCFormer backbone has, as named in error messages.
BACKBONE_KEYS = ('patch_embed1.proj.weight', 'block1.0...', 'ctm1...')
#: What DistributedDataParallel puts in front of every key of the model it wraps.
DDP_PREFIX = 'module.'


def unwrap_state_dict(checkpoint: Mapping) -> Mapping[str, torch.Tensor]:
    """Return the state dict inside a checkpoint (``state_dict`` or ``model`` entry)."""
    for key in ('state_dict', 'model'):
        if key in checkpoint and isinstance(checkpoint[key], Mapping):
            return checkpoint[key]
    return checkpoint


def strip_module_prefix(state_dict: Mapping) -> Mapping:
    """Return ``state_dict`` without the ``module.`` prefix of a DistributedDataParallel model.

    A state dict saved from a wrapped model has the prefix on every key; one where only some
    keys have it is not wrapped (``module`` is then the name of a submodule) and is returned
    unchanged.
    """
    if state_dict and all(isinstance(k, str) and k.startswith(DDP_PREFIX) for k in state_dict):
        return OrderedDict((k[len(DDP_PREFIX):], v) for k, v in state_dict.items())
    return state_dict


def tcformer_convert(checkpoint: Mapping,
                     prefix: Optional[str] = None,
                     keep_head: bool = False) -> 'OrderedDict[str, torch.Tensor]':
    """Convert a released TCFormer checkpoint to the state dict of the backbone.

    Args:
        checkpoint (Mapping): A loaded checkpoint (any layout above) or a state dict.
        prefix (str, optional): Keep only keys under this prefix and strip it (e.g.
            ``'backbone.'``). By default ``'backbone.'`` is used when any key has it (mmpose and
            OpenMMLab 2.0 checkpoints) and no prefix otherwise (original classification
            checkpoints).
        keep_head (bool): Keep the classifier ``head.*`` of the original classification
            layout; False for a backbone-only load. Defaults to False.

    Returns:
        OrderedDict: Backbone state dict with the keys of :class:`TCFormer` (``stages.*``;
        ``head.*`` with ``keep_head``).
    """
    state_dict = strip_module_prefix(unwrap_state_dict(checkpoint))
    if prefix is None and any(k.startswith('backbone.') for k in state_dict):
        prefix = 'backbone.'
    converted = OrderedDict()
    for key, value in state_dict.items():
        if prefix:
            if not key.startswith(prefix):
                continue
            key = key[len(prefix):]
        if key.startswith(HEAD_PREFIX) and not keep_head:
            continue
        for old, new in RENAMES:
            if key.startswith(old):
                key = new + key[len(old):]
        converted[key] = value
    return to_stage_names(converted)


def checkpoint_state_dict(checkpoint, source: str = 'checkpoint') -> Mapping[str, torch.Tensor]:
    """Return the state dict of a loaded checkpoint, without a ``module.`` prefix.

    Args:
        checkpoint: What :func:`torch.load` returned.
        source (str): Name of the checkpoint, for the error message.

    Raises:
        TypeError: If ``checkpoint`` or its state dict is not a mapping (e.g. a saved tensor
            or a pickled model).
    """
    state_dict = unwrap_state_dict(checkpoint) if isinstance(checkpoint, Mapping) else checkpoint
    if not isinstance(state_dict, Mapping):
        raise TypeError(f'{source} holds a {type(state_dict).__name__}, not a checkpoint '
                        '(a dict of tensors)')
    return strip_module_prefix(state_dict)


def has_tcformer_backbone(keys, prefix: str = '') -> bool:
    """Whether ``keys`` hold a TCFormer backbone under ``prefix`` (released, mmpose 0.x or
    :class:`TCFormer` names)."""
    keys = {prefix + stage_key(k[len(prefix):]) for k in map(str, keys) if k.startswith(prefix)}
    embed = any(f'{prefix}stages.0.downsample.{name}.weight' in keys
                for name in ('proj', 'projection'))
    return embed and any(k.startswith(f'{prefix}stages.0.blocks.') for k in keys)


def key_examples(keys, limit: int = 4) -> str:
    """The first key of up to ``limit`` top-level modules, for a message.

    Keys deeper than two levels are cut there: ``'conv1.weight, bn1.weight, layer1.0...'``.
    """
    shown = {}
    for key in map(str, keys):
        parts = key.split('.')
        if parts[0] not in shown:
            shown[parts[0]] = key if len(parts) <= 2 else '.'.join(parts[:2]) + '...'
            if len(shown) == limit:
                break
    return ', '.join(shown.values())


def key_prefixes(keys) -> str:
    """The top-level modules of ``keys`` as ``'backbone.*, neck.*, head.*'``."""
    return ', '.join(dict.fromkeys(str(k).split('.')[0] + '.*' for k in keys))


def no_backbone_message(keys, source: str = 'checkpoint', prefix: str = '') -> str:
    """Error message for keys without a TCFormer backbone (under ``prefix``)."""
    expected = ', '.join(prefix + k for k in BACKBONE_KEYS)
    found = f'found keys like {key_examples(keys)}' if keys else 'found no keys'
    return f'{source} has no TCFormer backbone keys ({expected}); {found}'


def check_tcformer_checkpoint(checkpoint, source: str = 'checkpoint') -> None:
    """Check that a loaded checkpoint holds TCFormer weights, at the top level or under
    ``backbone.``.

    Raises:
        TypeError: If it is not a mapping of tensors.
        ValueError: If it holds no TCFormer backbone; the message names a few of its keys.
    """
    state_dict = checkpoint_state_dict(checkpoint, source)
    if not (has_tcformer_backbone(state_dict) or has_tcformer_backbone(state_dict, 'backbone.')):
        raise ValueError(no_backbone_message(list(state_dict), source))


def check_released_classifier(checkpoint, source: str = 'checkpoint') -> None:
    """Check that :func:`tcformer_classifier_convert` applies to a loaded checkpoint.

    It does to the original classification layout and to the mmpose 0.x one. A checkpoint
    already in the OpenMMLab 2.0 layout (``backbone.*`` with the names of :class:`TCFormer`)
    needs no conversion: converting it would drop its other modules, such as the mmpretrain
    classifier ``head.fc.*``.

    Raises:
        TypeError: If it is not a mapping of tensors.
        ValueError: If it is none of the released layouts; the message says what it is.
    """
    state_dict = checkpoint_state_dict(checkpoint, source)
    keys = [str(k) for k in state_dict]
    if has_tcformer_backbone(keys) and not any(k.startswith('backbone.') for k in keys):
        return
    if not has_tcformer_backbone(keys, 'backbone.'):
        raise ValueError(no_backbone_message(keys, source))
    if any(k.startswith(('keypoint_head.', 'backbone.patch_embed1.projection.')) for k in keys):
        return  # mmpose 0.x
    if any(k.startswith('head.fc.') for k in keys):
        raise ValueError(f'{source} is already in the mmpretrain layout (backbone.*, head.fc.*): '
                         'nothing to convert')
    raise ValueError(f'{source} is already in the OpenMMLab 2.0 layout ({key_prefixes(keys)}), '
                     'not a released one: nothing to convert')


def is_released_classifier(checkpoint: Mapping) -> bool:
    """Whether ``checkpoint`` is in the original classification repository's layout.

    That is a (possibly ``{'model': ...}``-wrapped) state dict with the backbone keys at the
    top level (``patch_embed1.proj.weight``, no ``backbone.`` prefix).
    """
    keys = list(strip_module_prefix(unwrap_state_dict(checkpoint)))
    return 'patch_embed1.proj.weight' in keys and not any(k.startswith('backbone.') for k in keys)


def tcformer_classifier_convert(checkpoint: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    """Convert a released TCFormer checkpoint to the state dict of mmpretrain's classifier.

    The backbone goes under ``backbone.``; the released classifier ``head.weight`` /
    ``head.bias`` becomes ``LinearClsHead``'s ``head.fc.*`` (the released model pools the
    last-stage tokens before its ``head``, which ``TokenGlobalAveragePooling`` does without
    parameters).

    Args:
        checkpoint (Mapping): A loaded checkpoint in any layout :func:`tcformer_convert` reads.

    Returns:
        OrderedDict: State dict of an ``ImageClassifier`` with a TCFormer backbone.
    """
    state_dict = OrderedDict()
    for key, value in tcformer_convert(checkpoint, keep_head=True).items():
        if key.startswith(HEAD_PREFIX):
            state_dict['head.fc.' + key[len(HEAD_PREFIX):]] = value
        else:
            state_dict['backbone.' + key] = value
    return state_dict


def _depths(keys) -> List[int]:
    """Blocks per stage found in the keys ``stages.{i}.blocks.{j}.*`` (or with ``backbone.``)."""
    depths = [0, 0, 0, 0]
    for key in keys:
        match = re.match(r'(?:backbone\.)?stages\.([0-3])\.blocks\.(\d+)\.', key)
        if match:
            stage = int(match.group(1))
            depths[stage] = max(depths[stage], int(match.group(2)) + 1)
    return depths


def _depth_mismatch(model: nn.Module,
                    state_dict: Mapping[str, torch.Tensor]) -> Optional[Tuple[list, list]]:
    """(checkpoint depths, model depths) where they differ, the usual cause of a mismatch (a
    checkpoint of another arch); None where they agree or the checkpoint has no blocks."""
    ckpt_depths = _depths(stage_names_for(model, state_dict))
    model_depths = _depths(model.state_dict())
    if ckpt_depths != model_depths and any(ckpt_depths):
        return ckpt_depths, model_depths
    return None


def stage_names_for(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> Mapping:
    """``state_dict`` with the released names of every :class:`TCFormer` in ``model`` renamed
    to its keys (:func:`~tcformer_mm.checkpoint.names.to_stage_names`), as the backbone's
    ``load_state_dict`` renames them: the keys ``model`` will take from it."""
    from tcformer_mm.models.backbones.tcformer import TCFormer  # which imports this module
    for name, module in model.named_modules():
        if isinstance(module, TCFormer):
            state_dict = to_stage_names(state_dict, f'{name}.' if name else '')
    return state_dict


def state_dict_mismatch(model: nn.Module,
                        state_dict: Mapping[str, torch.Tensor]) -> Tuple[list, list, list]:
    """Return (missing keys, unexpected keys, [(key, checkpoint shape, model shape)]), the
    released names of a TCFormer in ``model`` counting as its own."""
    state_dict = stage_names_for(model, state_dict)
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state_dict.items()
                  if k in own and tuple(v.shape) != tuple(own[k].shape)]
    return missing, unexpected, mismatched


def _examples(items: Sequence[str], limit: int) -> str:
    more = f' and {len(items) - limit} more' if len(items) > limit else ''
    return ', '.join(items[:limit]) + more


def mismatch_report(missing: Sequence[str],
                    unexpected: Sequence[str],
                    mismatched: Sequence[Tuple[str, tuple, tuple]] = (),
                    limit: int = 3,
                    missing_label: str = 'missing keys') -> List[str]:
    """How a state dict does not fit a model, one phrase per kind of mismatch: the wording of
    every message of this package that says so.

    Args:
        missing (Sequence[str]): The model's keys that the state dict lacks.
        unexpected (Sequence[str]): The state dict's keys that the model lacks.
        mismatched (Sequence[tuple]): ``(key, checkpoint shape, model shape)`` of the keys
            whose shapes differ. Defaults to none.
        limit (int): Keys named per kind; the others are counted. Defaults to 3.
        missing_label (str): What follows the number of missing keys. Defaults to
            ``'missing keys'``.

    Returns:
        list[str]: E.g. ``['163 missing keys (stages.0.blocks.2.norm1.weight,
        stages.0.blocks.2.norm1.bias, stages.0.blocks.2.attn.q.weight and 160 more)']`` for a
        V1-Light checkpoint and a V1; empty if it fits.
    """
    report = []
    if missing:
        report.append(f'{len(missing)} {missing_label} ({_examples(missing, limit)})')
    if unexpected:
        report.append(f'{len(unexpected)} unexpected keys ({_examples(unexpected, limit)})')
    if mismatched:
        shapes = [f'{k}: {a} vs {b}' for k, a, b in mismatched]
        report.append(f'{len(shapes)} shape mismatches, checkpoint vs model '
                      f'({_examples(shapes, limit)})')
    return report


def mismatch_summary(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> Optional[str]:
    """How ``state_dict`` does not fit ``model``, in one line; None if it fits exactly.

    The short form of the error of :func:`load_converted_state_dict`, for command-line tools;
    ``model`` may be a backbone or a whole model (``backbone.*`` keys).
    """
    problems = mismatch_report(*state_dict_mismatch(model, state_dict))
    if not problems:
        return None
    depths = _depth_mismatch(model, state_dict)
    if depths is not None:
        problems.append(f'depths {depths[0]} in the checkpoint, {depths[1]} in the model: '
                        'choose the matching arch')
    return '; '.join(problems)


def load_converted_state_dict(model: nn.Module,
                              state_dict: Mapping[str, torch.Tensor],
                              source: str = 'checkpoint') -> None:
    """Load a converted state dict strictly, with an error that lists what does not match.

    Args:
        model (nn.Module): The backbone.
        state_dict (Mapping): Output of :func:`tcformer_convert`.
        source (str): Name of the checkpoint, for the error message.

    Raises:
        RuntimeError: If any key is missing, unexpected or of another shape; nothing is
            loaded then (no silent partial load).
    """
    problems = mismatch_report(*state_dict_mismatch(model, state_dict))
    if problems:
        depths = _depth_mismatch(model, state_dict)
        if depths is not None:
            problems.append(f'The checkpoint has depths {depths[0]}, the model {depths[1]}: '
                            'choose the matching arch.')
        raise RuntimeError(f'{type(model).__name__}: {source} does not match the architecture:' +
                           ''.join(f'\n  {p}' for p in problems))
    model.load_state_dict(state_dict, strict=True)
