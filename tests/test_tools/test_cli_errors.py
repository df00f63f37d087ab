"""Bad input to the launchers ends with a message naming the problem."""
from conftest import run_tool

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
    result = run_tool([
        'tools/train.py', CONFIG, '--work-dir',
        str(tmp_path), '--resume',
        str(tmp_path / 'gone.pth')
    ],
                      check=False)
    assert result.returncode != 0
    assert 'checkpoint file not found' in last_line(result)


def test_test_non_checkpoint_file(tmp_path, tiny_data):
    bogus = tmp_path / 'notes.pth'
    bogus.write_text('these are notes, not weights\n')
    opts = [
        f'{s}_dataloader.dataset.data_root={tiny_data / "imagenet"}'
        for s in ('train', 'val', 'test')
    ]
    result = run_tool([
        'tools/test.py', CONFIG,
        str(bogus), '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *opts
    ],
                      check=False)
    assert result.returncode != 0
    assert f'{bogus} is not a PyTorch checkpoint' in last_line(result)


def test_bad_cfg_option_key():
    result = run_tool([
        'tools/train.py', CONFIG, '--cfg-options', 'model.backbone.no_such_arg=1',
        'train_cfg.max_epochs=0'
    ],
                      check=False)
    assert result.returncode != 0
    assert 'no_such_arg' in result.stderr


def test_both_local_rank_spellings_parse():
    for flag in ('--local_rank=1', '--local-rank=1'):
        result = run_tool(['tools/train.py', 'configs/no/such_config.py', flag], check=False)
        assert 'config file not found' in last_line(result), result.stderr[-2000:]


def test_slurm_scripts_compose_srun(tmp_path):
    """The slurm launchers hand srun the OpenMMLab arguments (a stand-in srun records them)."""
    fake = tmp_path / 'srun'
    fake.write_text('#!/usr/bin/env bash\necho "$@" > "$SRUN_RECORD"\n')
    fake.chmod(0o755)
    env = dict(PATH=f'{tmp_path}:/usr/bin:/bin',
               SRUN_RECORD=str(tmp_path / 'args'),
               GPUS='16',
               GPUS_PER_NODE='8',
               CPUS_PER_TASK='3',
               SRUN_ARGS='--quotatype=auto')
    run_tool(['tools/slurm_train.sh', 'part', 'job', CONFIG, 'work', '--amp'], env=env)
    args = (tmp_path / 'args').read_text().split()
    assert args[:2] == ['-p', 'part'] and '--job-name=job' in args
    assert {
        '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8', '--cpus-per-task=3',
        '--quotatype=auto'
    } <= set(args)
    assert args[-5].endswith('tools/train.py')
    assert args[-4:] == [CONFIG, '--work-dir=work', '--launcher=slurm', '--amp']
    run_tool(['tools/slurm_test.sh', 'part', 'job', CONFIG, 'ckpt.pth', '--out', 'r.pkl'], env=env)
    args = (tmp_path / 'args').read_text().split()
    assert args[-6].endswith('tools/test.py')
    assert args[-5:] == [CONFIG, 'ckpt.pth', '--launcher=slurm', '--out', 'r.pkl']
