"""Loading checkpoint files without running their code.

A ``.pth`` file is a pickle, and unpickling one in full runs whatever code its author put in it.
torch's weights-only unpickler (the default of ``torch.load`` since torch 2.6) rebuilds tensors,
containers and a fixed set of types and refuses the rest. A checkpoint written by mmengine's
runner holds a little more, and :func:`load_checkpoint_file` allows exactly that:

- numpy arrays, scalars and dtypes (metrics, the data sets' metadata);
- ``bytes`` (protocol 2, torch's default, pickles an empty ``bytes`` as a call of ``bytes``);
- mmengine's ``HistoryBuffer`` (the message hub's logged scalars) and the statistics methods it
  references, pickled as ``getattr(HistoryBuffer, 'mean')``: ``getattr`` resolves here only to
  those methods of that class, since a free ``getattr`` reaches anything.

Before unpickling, the file's globals are listed from the pickle's opcodes (nothing runs) and a
file holding any other is refused with one message naming the file and those globals. Loading it
in full is an explicit opt-in: ``trust=True``, the environment variable
``TCFORMER_TRUST_CHECKPOINTS=1``, or ``--trust-checkpoint`` on the tools. That runs the file's
code with the user's permissions.

:func:`patch_mmengine_checkpoint_loader` makes this mmengine's loader for local paths and URLs,
so every mmengine caller (runner resume, ``load_from``, ``init_cfg=dict(type='Pretrained')``,
``load_checkpoint``) gets it; mmengine alone loads URLs with a full unpickling.
"""
import os
import os.path as osp
import pickle
import re
import warnings
import zipfile
from typing import List, Mapping, Optional
from urllib.parse import urlparse

import numpy as np
import torch

#: The environment variable that lets checkpoints be unpickled in full (runs their code).
TRUST_ENV = 'TCFORMER_TRUST_CHECKPOINTS'
#: The statistics methods of mmengine's HistoryBuffer that its pickles reference.
HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'current', 'mean'})


class UntrustedCheckpointError(ValueError):
    """A checkpoint holds objects that only a full unpickling, which runs code, can rebuild."""


def _numpy_globals() -> list:
    """numpy arrays, scalars and dtypes, safe to rebuild in a weights-only load."""
    dtypes = {type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGSUV'}
    return [
        np.ndarray, np.dtype, np.core.multiarray.scalar, np.core.multiarray._reconstruct,
        *sorted(dtypes, key=str)
    ]


def _history_buffer_attribute(owner, name):
    """``getattr`` as mmengine's message hub pickles it, and nothing else."""
    from mmengine.logging import HistoryBuffer
    if owner is not HistoryBuffer or name not in HISTORY_BUFFER_METHODS:
        raise pickle.UnpicklingError(f'getattr({owner!r}, {name!r}) is not allowed: only the '
                                     'statistics methods of mmengine\'s HistoryBuffer are')
    return getattr(owner, name)


def allowed_globals() -> list:
    """What a checkpoint may hold beyond torch's weights-only defaults (``safe_globals``)."""
    from mmengine.logging import HistoryBuffer
    return [
        *_numpy_globals(), HistoryBuffer, (_history_buffer_attribute, 'builtins.getattr'),
        (bytes, 'builtins.bytes')
    ]


def trusted_by_environment() -> bool:
    """Whether ``TCFORMER_TRUST_CHECKPOINTS`` opts in to full unpickling ('1'; '0' or unset:
    no)."""
    value = os.environ.get(TRUST_ENV, '0')
    if value not in ('0', '1'):
        raise ValueError(f'{TRUST_ENV} must be 1 (unpickle checkpoints in full, running their '
                         f'code) or 0, got {value!r}')
    return value == '1'


def _is_legacy_pickle(filename) -> bool:
    # torch.save's legacy (pre-1.6) format is a pickle stream: it starts with the PROTO opcode.
    with open(filename, 'rb') as f:
        return f.read(1) == b'\x80'


def _unsafe_globals(filename) -> Optional[List[str]]:
    """The globals of the file that a weights-only load with :func:`allowed_globals` refuses,
    read from the pickle's opcodes; None where they cannot be listed (the legacy format)."""
    try:
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    except (ValueError, pickle.UnpicklingError, RuntimeError):
        return None


def _refused_by_torch(error: Exception) -> str:
    """What torch's weights-only unpickler refused, from its message."""
    found = re.search(r'GLOBAL (\S+)', str(error))
    if found:
        return f'Python objects of {found.group(1)}'
    reason = re.search(r'WeightsUnpickler error: (.+)', str(error))
    return f'objects the weights-only unpickler refuses ({reason.group(1) if reason else error})'


def _refusal(filename, what: str) -> UntrustedCheckpointError:
    return UntrustedCheckpointError(
        f'{filename} holds {what}, which only a full unpickling can rebuild, and a full '
        'unpickling runs code from the file. Checkpoints load without it when they hold '
        'tensors, numpy values and mmengine runner state. If you trust the source of this '
        f'file, pass --trust-checkpoint to the tool or set {TRUST_ENV}=1.')


def load_checkpoint_file(filename, map_location=None, trust: Optional[bool] = None):
    """Load a checkpoint file from a local path without running code from it.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | torch.device | callable, optional): As in :func:`torch.load`.
        trust (bool, optional): Unpickle in full a file that holds other objects (runs the
            file's code). Defaults to the environment variable ``TCFORMER_TRUST_CHECKPOINTS``.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        UntrustedCheckpointError: The file holds other objects and ``trust`` is off.
        ValueError: ``filename`` is not a PyTorch checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if not (zipfile.is_zipfile(filename) or _is_legacy_pickle(filename)):
        raise ValueError(f'{filename} is not a PyTorch checkpoint (neither the zip format of '
                         'torch.save nor its legacy pickle format)')
    trust = trusted_by_environment() if trust is None else trust
    with torch.serialization.safe_globals(allowed_globals()):
        unsafe = _unsafe_globals(filename)
        if unsafe and not trust:
            raise _refusal(filename, f'Python objects of {", ".join(unsafe)}')
        if not unsafe:
            try:
                return torch.load(filename, map_location=map_location, weights_only=True)
            except pickle.UnpicklingError as e:  # a legacy file, or a global pushed dynamically
                if not trust:
                    raise _refusal(filename, _refused_by_torch(e)) from e
                unsafe = ['(objects not listed beforehand)']
            except (RuntimeError, EOFError, KeyError, zipfile.BadZipFile) as e:
                raise ValueError(f'{filename} is not a loadable PyTorch checkpoint: '
                                 f'{type(e).__name__}: {e}') from e
    warnings.warn(f'{filename} is unpickled in full, as {TRUST_ENV} / --trust-checkpoint allow; '
                  f'it holds {", ".join(unsafe)}.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=False)
    except Exception as e:  # a full unpickling raises whatever the file's code raises
        raise ValueError(f'{filename} is not a loadable PyTorch checkpoint: '
                         f'{type(e).__name__}: {e}') from e


def load_checkpoint_url(url, map_location=None, model_dir=None, progress=False):
    """Download ``url`` once into torch's hub cache (``$TORCH_HOME/hub/checkpoints``) and load
    it with :func:`load_checkpoint_file`. In a distributed run the local rank 0 downloads it
    first."""
    from mmengine.dist import barrier, get_dist_info
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    cached = osp.join(model_dir, osp.basename(urlparse(url).path))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(cached):
        os.makedirs(model_dir, exist_ok=True)
        torch.hub.download_url_to_file(url, cached, progress=progress)
    if world_size > 1:
        barrier()
    return load_checkpoint_file(cached, map_location=map_location)


def patch_mmengine_checkpoint_loader():
    """Make :func:`load_checkpoint_file` mmengine's loader for local paths (prefix '') and
    :func:`load_checkpoint_url` its loader for http(s) URLs (also where mmengine's
    ``torchvision://`` and ``open-mmlab://`` schemes call ``load_from_http`` directly)."""
    from mmengine.runner import checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader

    checkpoint.load_from_http = load_checkpoint_url

    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)
    CheckpointLoader.register_scheme(prefixes=('http://', 'https://'),
                                     loader=load_checkpoint_url,
                                     force=True)


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
