"""Conversion of the released TCFormer whole-body pose checkpoints to mmpose 1.x keys.

The whole-body checkpoints released with the CVPR 2022 paper (TCFormer 256x192, TCFormer-Large
384x288) and those trained with the mmpose 0.x port are ``{'state_dict': ...}`` with
(``docs/checkpoints.md``):

- ``backbone.*``: the released backbone keys (``patch_embed1.projection.*`` in the port's
  files for ``patch_embed1.proj.*``), converted by :func:`tcformer_convert`;
- ``neck.lateral_convs.{n}.conv.*``, ``neck.merge_blocks.{n}.*``, ``neck.extra_convs.{n}.conv.*``:
  the MTA neck, whose module names :class:`MTA` keeps, so they pass unchanged;
- ``keypoint_head.*``: mmpose 0.x ``TopdownHeatmapSimpleHead``; with no deconvolution and a
  1x1 final conv (the MTA head) it is ``keypoint_head.final_layer.{weight,bias}``, which is
  mmpose 1.x ``HeatmapHead``'s ``head.final_layer.*``.
"""
from collections import OrderedDict
from typing import Mapping

import torch

from .convert import (checkpoint_state_dict, has_tcformer_backbone, key_prefixes,
                      no_backbone_message, strip_module_prefix, tcformer_convert, unwrap_state_dict)

#: mmpose 0.x prefix of the keypoint head, and the mmpose 1.x one.
OLD_HEAD_PREFIX = 'keypoint_head.'
NEW_HEAD_PREFIX = 'head.'
#: Prefixes copied unchanged.
KEPT_PREFIXES = ('neck.', NEW_HEAD_PREFIX)


def is_released_pose_checkpoint(checkpoint: Mapping) -> bool:
    """Whether ``checkpoint`` is a TCFormer top-down checkpoint in the mmpose 0.x layout.

    That is a state dict with a TCFormer backbone under ``backbone.`` and either the 0.x
    ``keypoint_head.`` prefix or the 0.x patch-embedding name
    ``backbone.patch_embed1.projection.*``.
    """
    keys = list(strip_module_prefix(unwrap_state_dict(checkpoint)))
    has_tcformer = any(k.startswith(('backbone.patch_embed1.', 'backbone.block1.')) for k in keys)
    old_names = any(
        k.startswith((OLD_HEAD_PREFIX, 'backbone.patch_embed1.projection.')) for k in keys)
    return has_tcformer and old_names


def check_released_pose_checkpoint(checkpoint, source: str = 'checkpoint') -> None:
    """Check that a loaded checkpoint is a released TCFormer top-down one, for the converter.

    Stricter than :func:`is_released_pose_checkpoint`: the message says what the checkpoint is
    instead (a classification checkpoint, one already in the mmpose 1.x layout, or no TCFormer
    at all).

    Raises:
        TypeError: If it is not a mapping of tensors.
        ValueError: If it is not in the mmpose 0.x layout with a TCFormer backbone.
    """
    state_dict = checkpoint_state_dict(checkpoint, source)
    keys = [str(k) for k in state_dict]
    if has_tcformer_backbone(keys, 'backbone.'):
        if is_released_pose_checkpoint(state_dict):
            return
        if any(k.startswith('head.fc.') for k in keys):
            raise ValueError(f'{source} is an mmpretrain classifier (backbone.*, head.fc.*), not '
                             'a pose checkpoint: nothing to convert')
        raise ValueError(f'{source} is already in the mmpose 1.x layout ({key_prefixes(keys)}): '
                         'nothing to convert')
    if has_tcformer_backbone(keys):
        raise ValueError(f'{source} is a TCFormer classification checkpoint (backbone keys at '
                         'the top level), not a pose one: convert it with '
                         'tools/model_converters/tcformer2mmpretrain.py')
    raise ValueError(no_backbone_message(keys, source, prefix='backbone.'))


def tcformer_pose_convert(checkpoint: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    """Convert a released TCFormer whole-body checkpoint to a ``TopdownPoseEstimator`` state dict.

    Args:
        checkpoint (Mapping): A loaded mmpose 0.x checkpoint (``{'state_dict': ...}``) or its
            state dict; OpenMMLab 2.0 keys (``head.*``) pass unchanged.

    Returns:
        OrderedDict: Keys ``backbone.*`` (of :class:`TCFormer`), ``neck.*`` (of :class:`MTA`)
        and ``head.*`` (of mmpose's ``HeatmapHead``). Other keys (e.g. the 0.x
        ``target_weight`` buffers, optimizer state) are dropped.

    Raises:
        ValueError: If the checkpoint has no ``backbone.`` keys.
    """
    state_dict = strip_module_prefix(unwrap_state_dict(checkpoint))
    if not any(k.startswith('backbone.') for k in state_dict):
        raise ValueError('tcformer_pose_convert: the checkpoint has no `backbone.` keys; it is '
                         'not a top-down pose checkpoint (for a classification checkpoint use '
                         '`tcformer_classifier_convert` or the backbone init_cfg).')
    converted = OrderedDict(
        ('backbone.' + k, v) for k, v in tcformer_convert(state_dict, prefix='backbone.').items())
    for key, value in state_dict.items():
        if key.startswith(OLD_HEAD_PREFIX):
            converted[NEW_HEAD_PREFIX + key[len(OLD_HEAD_PREFIX):]] = value
        elif key.startswith(KEPT_PREFIXES):
            converted[key] = value
    return converted
