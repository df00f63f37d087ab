"""Bad input to the launchers ends with a message naming the problem."""
from conftest import ROOT, run_tool

CONFIG = 'configs/tiny/resnet18_1xb16_tiny-cls.py'


def last_line(result):
    return result.stderr.strip().splitlines()[-1]


def test_missing_config():
    result = run_tool(['tools/train.py', 'configs/no/such_config.py'], check=False)
    assert result.returncode != 0
    assert 'config file not found: configs/no/such_config.py' in last_line(result)


def test_test_missing_checkpoint(tmp_path):
    result = run_tool(['tools/test.py', CONFIG, str(tmp_path / 'missing.pth')], check=False)
    assert result.returncode != 0
    assert f'checkpoint file not found: {tmp_path / "missing.pth"}' in last_line(result)


def test_resume_missing_checkpoint(tmp_path):
    result = run_tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--resume',
                       str(tmp_path / 'gone.pth')], check=False)
    assert result.returncode != 0
    assert 'checkpoint file not found' in last_line(result)


def test_test_non_checkpoint_file(tmp_path, tiny_data):
    bogus = tmp_path / 'notes.pth'
    bogus.write_text('these are notes, not weights\n')
    opts = [f'{s}_dataloader.dataset.data_root={tiny_data / "imagenet"}' for s in ('train', 'val', 'test')]
    result = run_tool(['tools/test.py', CONFIG, str(bogus), '--work-dir', str(tmp_path / 'w'),
                       '--cfg-options', *opts], check=False)
    assert result.returncode != 0
    assert f'{bogus} is not a PyTorch checkpoint' in last_line(result)


def test_bad_cfg_option_key():
    result = run_tool(['tools/train.py', CONFIG, '--cfg-options', 'model.backbone.no_such_arg=1',
                       'train_cfg.max_epochs=0'], check=False)
    assert result.returncode != 0
    assert 'no_such_arg' in result.stderr
