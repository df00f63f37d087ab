"""Writing checkpoints so that no truncated file is ever left under a checkpoint's name.

mmengine's runner writes a checkpoint straight to its final path: a full disk, a file-size limit
or a read-only directory leaves a truncated ``epoch_N.pth`` behind (which a later ``--resume``
may pick) and an ``OSError`` that says neither which file nor how much space it needed.
:func:`save_checkpoint_file` serialises the checkpoint in memory, checks the free space, writes
a temporary file beside the target and renames it into place (atomic on POSIX file systems).
"""
import io
import os
import os.path as osp
import shutil
import tempfile


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; nothing was left under its name."""


def _megabytes(size: int) -> str:
    return f'{size / 2**20:.1f} MB'


def save_checkpoint_file(checkpoint: dict, filename: str) -> None:
    """Write ``checkpoint`` to the local path ``filename`` all at once or not at all.

    Raises:
        CheckpointWriteError: The directory cannot take the file (full disk, file-size limit,
            read-only or missing directory); the message names the file, its size and the free
            space.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getbuffer()
    directory = osp.dirname(osp.abspath(filename))
    temporary = None
    try:
        free = shutil.disk_usage(directory).free
        if free < len(data):
            raise OSError(28, 'No space left on device')
        with tempfile.NamedTemporaryFile(dir=directory,
                                         prefix=f'.{osp.basename(filename)}.',
                                         suffix='.tmp',
                                         delete=False) as f:
            temporary = f.name
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, filename)
    except OSError as e:
        if temporary is not None and osp.exists(temporary):
            os.remove(temporary)
        space = (f'{_megabytes(shutil.disk_usage(directory).free)} free there'
                 if osp.isdir(directory) else 'the directory does not exist')
        raise CheckpointWriteError(
            f'cannot write the checkpoint {filename}: {e.strerror or e} (it needs '
            f'{_megabytes(len(data))}; {space}); nothing was written under that name') from e


def patch_mmengine_checkpoint_saver() -> None:
    """Make the runner write local checkpoints with :func:`save_checkpoint_file` (other
    back ends, e.g. ``s3://``, keep mmengine's writer)."""
    from mmengine.runner import runner

    original = runner.save_checkpoint
    if getattr(original, 'tcformer_mm', False):
        return

    def save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None):
        if file_client_args is None and backend_args is None and '://' not in filename:
            return save_checkpoint_file(checkpoint, filename)
        return original(checkpoint,
                        filename,
                        file_client_args=file_client_args,
                        backend_args=backend_args)

    save_checkpoint.tcformer_mm = True
    runner.save_checkpoint = save_checkpoint
