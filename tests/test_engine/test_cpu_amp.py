"""CPUAmpOptimWrapper: tools/train.py --amp on a machine without CUDA."""
import pytest
import torch
from conftest import run_tool
from mmengine.optim import OptimWrapper

from tcformer_mm.engine import CPUAmpOptimWrapper

TCFORMER = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'


def test_training_step_runs_under_bf16_autocast():
    model = torch.nn.Linear(4, 2)
    wrapper = CPUAmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert isinstance(wrapper, OptimWrapper)
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
        out = model(torch.rand(3, 4))
    assert out.dtype == torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().square().mean())
    assert not torch.equal(model.weight, before)  # fp32 master weights moved
    assert model.weight.dtype == torch.float32


def test_fp16_is_refused():
    model = torch.nn.Linear(4, 2)
    with pytest.raises(ValueError, match='dtype must be bfloat16'):
        CPUAmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), dtype='float16')


def test_train_amp_on_cpu(tiny_data, tmp_path):
    """docs/tools.md's `tools/train.py CONFIG --amp`, one iteration, no GPU."""
    root = tiny_data / 'imagenet'
    result = run_tool([
        'tools/train.py', TCFORMER, '--amp', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
        'train_dataloader.dataset.indices=16',
        *[f'{split}_dataloader.dataset.data_root={root}' for split in ('train', 'val', 'test')]
    ])
    log = result.stdout + result.stderr
    assert "type='CPUAmpOptimWrapper'" in log and "dtype='bfloat16'" in log
    assert 'Epoch(train) [1][1/1]' in log and 'accuracy/top1' in log
    assert (tmp_path / 'epoch_1.pth').is_file()
