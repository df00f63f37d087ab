"""Loading checkpoint files under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10.7 calls ``torch.load``
without the argument, so a runner checkpoint no longer loads and ``--resume`` and ``load_from``
fail. The runner's ``message_hub`` pickles mmengine's ``HistoryBuffer`` together with its
statistics methods, which pickle as ``getattr(HistoryBuffer, 'mean')``; allowing ``getattr`` in a
weights-only load would allow reaching anything, so no weights-only load can take these files
safely. :func:`load_checkpoint_file` therefore:

- loads weights-only first, with numpy arrays and scalars allowed: released weights and plain
  state dicts take this path;
- unpickles in full what needs more, as mmengine did before torch 2.6. Runner checkpoints
  (whose extra globals are exactly mmengine's runner state) load silently; any other global is
  named in a warning. Load checkpoints only from sources you trust, as with any pickle.

It also turns a missing path or a file that is not a PyTorch checkpoint into an error naming the
file. :func:`patch_mmengine_checkpoint_loader` installs it as mmengine's loader for local paths,
so every mmengine caller (runner resume, ``load_from``, ``init_cfg=dict(type='Pretrained')``,
``CheckpointLoader``) gets it.
"""
import os
import os.path as osp
import pickle
import warnings
import zipfile
from typing import Mapping

import numpy as np
import torch

#: Globals that mmengine's runner writes into every checkpoint besides tensors and numpy.
RUNNER_STATE_GLOBALS = frozenset({
    'builtins.getattr', '__builtin__.getattr', 'mmengine.logging.history_buffer.HistoryBuffer',
    '_codecs.encode'
})


def _numpy_globals():
    """numpy arrays, scalars and dtypes, safe to rebuild in a weights-only load."""
    dtypes = {type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGSUV'}
    return [
        np.ndarray, np.dtype, np.core.multiarray.scalar, np.core.multiarray._reconstruct,
        *sorted(dtypes, key=str)
    ]


def _is_legacy_pickle(filename):
    # torch.save's legacy (pre-1.6) format is a pickle stream: it starts with the PROTO opcode.
    with open(filename, 'rb') as f:
        return f.read(1) == b'\x80'


def load_checkpoint_file(filename, map_location=None):
    """Load a checkpoint file from a local path.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | torch.device | callable, optional): As in :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        ValueError: ``filename`` is not a PyTorch checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if not (zipfile.is_zipfile(filename) or _is_legacy_pickle(filename)):
        raise ValueError(f'{filename} is not a PyTorch checkpoint (neither the zip format of '
                         'torch.save nor its legacy pickle format)')
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as weights_only_error:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        except Exception:  # the legacy format cannot be inspected without unpickling
            unsafe = ['(not listed: legacy format)']
        unexpected = [
            g for g in unsafe if g not in RUNNER_STATE_GLOBALS and not g.startswith('numpy.')
        ]
        try:
            checkpoint = torch.load(filename, map_location=map_location, weights_only=False)
        except Exception as e:
            raise ValueError(f'{filename} is not a loadable PyTorch checkpoint: '
                             f'{type(e).__name__}: {e}') from weights_only_error
        if unexpected:
            warnings.warn(f'{filename} holds Python objects beyond tensors and mmengine runner '
                          f'state ({", ".join(unexpected)}); it was loaded with '
                          'weights_only=False. Only load checkpoints from sources you trust.')
        return checkpoint
    except (RuntimeError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise ValueError(f'{filename} is not a loadable PyTorch checkpoint: '
                         f'{type(e).__name__}: {e}') from e


def patch_mmengine_checkpoint_loader():
    """Make :func:`load_checkpoint_file` mmengine's loader for local paths (prefix '')."""
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)


def save_converted(state_dict: Mapping, src: str, dst: str) -> None:
    """Write a converted state dict as ``{'state_dict': ..., 'meta': {'converted_from': src}}``
    to ``dst``, refusing to overwrite the source or a directory (ValueError naming DST)."""
    if osp.isdir(dst):
        raise ValueError(f'DST {dst} is a directory; give the path of the output file')
    if osp.exists(dst) and osp.samefile(src, dst):
        raise ValueError(f'DST {dst} is SRC: the conversion would overwrite its input')
    try:
        os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
        torch.save(dict(state_dict=state_dict, meta=dict(converted_from=src)), dst)
    except (OSError, RuntimeError) as e:
        raise ValueError(f'cannot write DST {dst}: {e}') from e
