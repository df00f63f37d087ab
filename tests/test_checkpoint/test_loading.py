"""Checkpoints written by mmengine's runner load under torch >= 2.6; bad files fail clearly."""
import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader
from torch.utils.data import DataLoader, TensorDataset

import tcformer_mm  # noqa: F401  installs the loader
from tcformer_mm.checkpoint import load_checkpoint_file


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels, mode='tensor'):
        loss = ((self.linear(inputs) - labels)**2).mean()
        return dict(loss=loss) if mode == 'loss' else [loss]


def make_runner(work_dir, max_epochs, resume=False, load_from=None):
    data = TensorDataset(torch.randn(8, 2), torch.randn(8, 1))
    return Runner(model=ToyModel(),
                  work_dir=str(work_dir),
                  train_dataloader=DataLoader(
                      data,
                      batch_size=4,
                      collate_fn=lambda b: dict(inputs=torch.stack([x for x, _ in b]),
                                                labels=torch.stack([y for _, y in b]))),
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
                  train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
                  default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
                  resume=resume,
                  load_from=load_from,
                  default_scope='mmengine',
                  experiment_name=f'toy_{work_dir.name}_{max_epochs}_{resume}')


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('runner')
    make_runner(work_dir, max_epochs=1).train()
    return work_dir / 'epoch_1.pth'


def test_plain_weights_only_load_fails(runner_checkpoint):
    """The problem being fixed: torch's default refuses mmengine's runner state."""
    with pytest.raises(pickle.UnpicklingError):
        torch.load(runner_checkpoint, weights_only=True)


def test_runner_checkpoint_loads_silently(runner_checkpoint):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ckpt = load_checkpoint_file(str(runner_checkpoint))
    assert ckpt['meta']['epoch'] == 1
    assert 'linear.weight' in ckpt['state_dict']
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() >= 0


def test_resume_continues(runner_checkpoint, tmp_path):
    runner = make_runner(tmp_path, max_epochs=2, resume=True, load_from=str(runner_checkpoint))
    runner.train()
    assert runner.epoch == 2 and runner.iter == 4
    assert (tmp_path / 'epoch_2.pth').exists() and not (tmp_path / 'epoch_1.pth').exists()


def test_load_from_through_mmengine(runner_checkpoint):
    ckpt = CheckpointLoader.load_checkpoint(str(runner_checkpoint))
    assert set(ckpt) >= {'meta', 'state_dict', 'message_hub', 'optimizer'}


def test_missing_file(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='checkpoint file not found: .*nope.pth'):
        CheckpointLoader.load_checkpoint(str(missing))


@pytest.mark.parametrize('content', [b'hello, not a checkpoint\n', b'', b'PK\x03\x04broken'])
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(ValueError, match='bad.pth is not a .*PyTorch checkpoint'):
        load_checkpoint_file(str(path))


def test_plain_weights_load_weights_only(tmp_path, monkeypatch):
    """Released weights (tensors, numpy) never need a full unpickling."""
    path = tmp_path / 'weights.pth'
    torch.save(
        dict(state_dict={'w': torch.ones(2)}, meta=dict(acc=np.float64(0.5), hist=np.arange(3))),
        path)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, 'load', lambda *a, **k: calls.append(k) or real_load(*a, **k))
    ckpt = load_checkpoint_file(str(path))
    assert [c['weights_only'] for c in calls] == [True]
    assert ckpt['meta']['acc'] == 0.5 and ckpt['meta']['hist'].tolist() == [0, 1, 2]


class UserObject:
    pass


def test_other_objects_refused_before_unpickling(tmp_path):
    path = tmp_path / 'user.pth'
    torch.save(dict(state_dict={'w': torch.ones(1)}, meta=dict(obj=UserObject())), path)
    with pytest.raises(ValueError,
                       match=f'{path} holds Python objects of '
                       'test_loading.UserObject, which only a full unpickling can rebuild'):
        load_checkpoint_file(str(path))


def test_other_objects_load_when_trusted(tmp_path):
    path = tmp_path / 'user.pth'
    torch.save(dict(state_dict={'w': torch.ones(1)}, meta=dict(obj=UserObject())), path)
    with pytest.warns(UserWarning, match='unpickled in full.*UserObject'):
        ckpt = load_checkpoint_file(str(path), trust=True)
    assert isinstance(ckpt['meta']['obj'], UserObject)


def test_getattr_reaches_only_history_buffer_statistics(tmp_path):
    """The message hub's ``getattr(HistoryBuffer, 'mean')`` loads; the same opcode reaching
    anything else is refused."""
    from mmengine.logging import HistoryBuffer

    class Reaches:

        def __init__(self, owner, name):
            self.owner, self.name = owner, name

        def __reduce__(self):
            return getattr, (self.owner, self.name)

    good, bad = tmp_path / 'good.pth', tmp_path / 'bad.pth'
    torch.save({'f': Reaches(HistoryBuffer, 'mean')}, good)
    assert load_checkpoint_file(str(good))['f'] is HistoryBuffer.mean
    torch.save({'f': Reaches(HistoryBuffer, '__init__')}, bad)
    with pytest.raises(ValueError, match="getattr.*'__init__'.* is not allowed"):
        load_checkpoint_file(str(bad))
