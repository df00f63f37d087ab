"""The keys of :class:`TCFormer`'s stage modules against the released checkpoints' flat names.

The released checkpoints, and those this package wrote before the backbone's stages became
modules, name the modules of stage s (1-4) at the top level; :class:`TCFormer` holds them in
``stages.{s-1}``::

    released / old            TCFormer
    patch_embed1.*            stages.0.downsample.*
    patch_embed{s}.*  (s>=2)  stages.{s-1}.downsample.*   (use_ctm=False)
    ctm{s}.*          (s<=3)  stages.{s}.downsample.*     (the CTM that starts stage s+1)
    block{s}.{j}.*            stages.{s-1}.blocks.{j}.*
    norm{s}.*                 stages.{s-1}.norm.*

Only the top-level names change: ``block1.0.norm1.weight`` is ``stages.0.blocks.0.norm1.weight``.
Every loading path renames with :func:`to_stage_names` (the backbone's ``load_state_dict``,
:func:`~tcformer_mm.checkpoint.convert.tcformer_convert`, the runner hooks);
:func:`to_released_names` is its inverse, for code that reads the released layout (the
reference model of ``tcformer_mm.ops.reference_model``, checkpoint fixtures).

This module imports nothing of OpenMMLab.
"""
import re
from collections import OrderedDict
from typing import Container, Mapping, TypeVar

#: Released top-level module -> (stage index = its number minus this, field of the stage).
_RELEASED = {
    'patch_embed': (1, 'downsample'),
    'ctm': (0, 'downsample'),
    'block': (1, 'blocks'),
    'norm': (1, 'norm'),
}
_RELEASED_KEY = re.compile(r'(patch_embed[1-4]|ctm[1-3]|block[1-4]|norm[1-4])\.')
_STAGE_KEY = re.compile(r'stages\.([0-3])\.(downsample|blocks|norm)\.')
#: The projection of a patch embedding (``projection`` in the mmpose 0.x port).
_PATCH_EMBED_KEY = re.compile(r'stages\.([0-3])\.downsample\.(proj|projection)\.')

T = TypeVar('T')


def stage_key(key: str) -> str:
    """The :class:`TCFormer` key of a released backbone key (no prefix); others unchanged."""
    match = _RELEASED_KEY.match(key)
    if match is None:
        return key
    name = match.group(1)[:-1]
    offset, field = _RELEASED[name]
    return f'stages.{int(match.group(1)[-1]) - offset}.{field}.{key[match.end():]}'


def released_key(key: str, patch_embeds: Container[int] = (0, )) -> str:
    """The released key of a :class:`TCFormer` key (no prefix); the inverse of
    :func:`stage_key`. Others unchanged.

    Args:
        key (str): A backbone key.
        patch_embeds (Container[int]): The stages whose ``downsample`` is a patch embedding
            (the others' is a CTM). Defaults to stage 0 only.
    """
    match = _STAGE_KEY.match(key)
    if match is None:
        return key
    i, field, rest = int(match.group(1)), match.group(2), key[match.end():]
    if field == 'blocks':
        return f'block{i + 1}.{rest}'
    if field == 'norm':
        return f'norm{i + 1}.{rest}'
    return f'patch_embed{i + 1}.{rest}' if i in patch_embeds else f'ctm{i}.{rest}'


def _rename(state_dict: Mapping[str, T], prefix: str, rename) -> 'OrderedDict[str, T]':
    return OrderedDict(
        (prefix + rename(k[len(prefix):]) if isinstance(k, str) and k.startswith(prefix) else k, v)
        for k, v in state_dict.items())


def to_stage_names(state_dict: Mapping[str, T], prefix: str = '') -> 'OrderedDict[str, T]':
    """``state_dict`` with the released backbone keys under ``prefix`` renamed to the keys of
    :class:`TCFormer` (table above); other keys and the order unchanged.

    Args:
        state_dict (Mapping): Any state dict (a backbone's, a whole model's).
        prefix (str): Where the backbone's keys start, e.g. ``'backbone.'``. Defaults to ``''``.
    """
    return _rename(state_dict, prefix, stage_key)


def to_released_names(state_dict: Mapping[str, T], prefix: str = '') -> 'OrderedDict[str, T]':
    """``state_dict`` with the :class:`TCFormer` keys under ``prefix`` renamed to the released
    ones; the inverse of :func:`to_stage_names`."""
    # A patch embedding has a projection; a CTM (whose keys include ``norm.*`` too) has not.
    patch_embeds = {0}
    for key in state_dict:
        match = _PATCH_EMBED_KEY.match(key[len(prefix):]) if key.startswith(prefix) else None
        if match:
            patch_embeds.add(int(match.group(1)))
    return _rename(state_dict, prefix, lambda key: released_key(key, patch_embeds))


def rename_to_stages_(state_dict: dict, prefix: str = '') -> bool:
    """Rename in place, as :func:`to_stage_names`; whether any key changed."""
    renamed = to_stage_names(state_dict, prefix)
    if list(renamed) == list(state_dict):
        return False
    state_dict.clear()
    state_dict.update(renamed)
    return True
