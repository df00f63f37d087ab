"""Checkpoints are written all at once or not at all, and a disk that cannot take one is named
with the size needed."""
import contextlib
import resource
import shutil
import signal
from collections import namedtuple

import pytest
import torch
from mmengine.runner import runner as mmengine_runner

import tcformer_mm  # noqa: F401  installs the writer
from tcformer_mm.checkpoint import CheckpointWriteError, save_checkpoint_file

BIG = {'state_dict': {'w': torch.ones(256, 1024)}}  # 1 MB of weights


def test_writes_and_replaces(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    save_checkpoint_file({'state_dict': {'w': torch.zeros(2)}}, str(target))
    save_checkpoint_file({'state_dict': {'w': torch.ones(2)}}, str(target))
    assert torch.load(target)['state_dict']['w'].tolist() == [1., 1.]
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']


def test_full_disk_refused_before_writing(tmp_path, monkeypatch):
    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage(2**30, 2**30 - 2**19, 2**19))
    target = tmp_path / 'epoch_1.pth'
    with pytest.raises(CheckpointWriteError,
                       match=rf'cannot write the checkpoint {target}: No space left on device '
                       r'\(it needs 1.0 MB; 0.5 MB free there\); nothing was written'):
        save_checkpoint_file(BIG, str(target))
    assert list(tmp_path.iterdir()) == []


@contextlib.contextmanager
def file_size_limit():
    """Writes beyond 256 KB fail with EFBIG ('File too large'), as on a full quota."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**18, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    save_checkpoint_file({'state_dict': {'w': torch.zeros(2)}}, str(target))
    before = target.read_bytes()
    with file_size_limit(), pytest.raises(CheckpointWriteError,
                                          match=r'File too large \(it needs 1.0 MB'):
        save_checkpoint_file(BIG, str(target))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']


def test_missing_directory_named(tmp_path):
    target = tmp_path / 'gone' / 'epoch_1.pth'
    with pytest.raises(CheckpointWriteError, match='the directory does not exist'):
        save_checkpoint_file(BIG, str(target))


def test_runner_uses_it():
    assert getattr(mmengine_runner.save_checkpoint, 'tcformer_mm', False)
