"""Bad input to tools/train.py, tools/test.py and the dist launchers ends with one line naming
the problem (no traceback), and what looks like an error but is not one gets a plain
message."""
import sys

import pytest
import torch
from conftest import ROOT, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope

CONFIG = 'configs/tiny/resnet18_1xb16_tiny-cls.py'
TCFORMER = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'


def data_options(root):
    return [f'{split}_dataloader.dataset.data_root={root}' for split in ('train', 'val', 'test')]


@pytest.fixture(scope='module')
def files(tmp_path_factory, tiny_data):
    """Checkpoints and configs the cases need: a ResNet-18 state dict (another model), the
    tiny TCFormer's own weights with one NaN, and with finite weights so large that the
    predictions overflow, a text file, a config of no codebase, a work dir whose
    ``last_checkpoint`` is empty."""
    import torchvision
    from mmpretrain.registry import MODELS
    out = tmp_path_factory.mktemp('bad')
    torch.save(torchvision.models.resnet18().state_dict(), out / 'resnet18.pth')
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(ROOT / TCFORMER)).model)
    state = model.state_dict()
    torch.save({'state_dict': state, 'meta': {}}, out / 'finite.pth')
    state['head.fc.weight'].fill_(3e38)
    torch.save({'state_dict': state, 'meta': {}}, out / 'overflow.pth')
    state['head.fc.weight'].normal_(std=0.02)
    state['backbone.stages.3.norm.weight'][0] = float('nan')
    torch.save({'state_dict': state, 'meta': {}}, out / 'nan.pth')
    (out / 'stopped').mkdir()
    (out / 'stopped' / 'last_checkpoint').write_text('')
    torch.save({'state_dict': {}}, out / 'stopped' / 'epoch_3.pth')
    (out / 'notes.pth').write_text('these are notes, not weights\n')
    (out / 'no_scope.py').write_text("model = dict(type='ImageClassifier')\n")
    return dict(dir=out, data=str(tiny_data / 'imagenet'))


def run_test_py(checkpoint, *options, extra=(), config=TCFORMER):
    """tools/test.py on the tiny data; ``checkpoint`` names a file of the fixture's folder."""
    return lambda f: [
        'tools/test.py', config, f'{f["dir"]}/{checkpoint}', *extra, '--work-dir', f'{f["dir"]}/w',
        '--cfg-options', *data_options(f['data']), *options
    ]


def run_train_py(*options, extra=(), config=TCFORMER):
    """tools/train.py on the tiny data, with ``options`` after the data roots (``{dir}`` in
    them is the fixture's folder)."""
    return lambda f: [
        'tools/train.py', config, *extra, '--work-dir', f'{f["dir"]}/w', '--cfg-options',
        *data_options(f['data']), *(o.format(dir=f['dir']) for o in options)
    ]


#: (id, arguments (a function of the fixture's dict), fragment of the last stderr line)
CASES = [
    ('train: missing config', lambda f: ['tools/train.py', 'configs/no/such_config.py'],
     'tools/train.py: error: config file not found: configs/no/such_config.py'),
    ('test: missing config', lambda f: ['tools/test.py', 'configs/no/such.py', 'x.pth'],
     'config file not found: configs/no/such.py'),
    ('test: missing checkpoint', run_test_py('missing.pth', config=CONFIG),
     'checkpoint file not found: {dir}/missing.pth'),
    ('train: resume from a missing checkpoint',
     lambda f: ['tools/train.py', CONFIG, '--resume', f'{f["dir"]}/gone.pth'],
     'checkpoint file not found: {dir}/gone.pth'),
    ('test: not a checkpoint file', run_test_py('notes.pth', config=CONFIG),
     '{dir}/notes.pth is not a PyTorch checkpoint'),
    ('train: unknown backbone argument', run_train_py('model.backbone.no_such_arg=1'),
     "unexpected keyword argument 'no_such_arg'"),
    ('train: unknown arch', run_train_py('model.backbone.arch=v9'),
     "Arch 'v9' is not in the default archs"),
    ('train: data root missing',
     lambda f: run_train_py(*data_options(f'{f["dir"]}/no_data'), config=CONFIG)
     (f), 'train_dataloader.dataset.data_root: data directory not found: {dir}/no_data'),
    ('test: data root missing', run_test_py('nan.pth', 'test_dataloader.dataset.data_root=/no/dir'),
     'test_dataloader.dataset.data_root: data directory not found: /no/dir'),
    ('test: checkpoint of another model', run_test_py('resnet18.pth'),
     "{dir}/resnet18.pth does not fit the model (ImageClassifier): 191 of the model's keys "
     'are missing from it'),
    ('test: non-finite predictions', run_test_py('overflow.pth'),
     '32 of 32 test images gave non-finite predictions (NaN or Inf'),
    ('test: non-finite weights', run_test_py('nan.pth'),
     '{dir}/nan.pth: 1 weight tensors hold NaN or Inf (backbone.stages.3.norm.weight)'),
    ('train: load_from non-finite weights', run_train_py('load_from={dir}/nan.pth'),
     '{dir}/nan.pth: 1 weight tensors hold NaN or Inf (backbone.stages.3.norm.weight)'),
    ('train: the loss becomes non-finite', run_train_py('optim_wrapper.optimizer.lr=1e30'),
     'training stopped at iteration 2 (epoch 1): the loss is not finite (loss=nan'),
    ('test: --out not a pickle', run_test_py('finite.pth', extra=['--out', 'r.json']),
     '--out must be a .pkl file, got r.json'),
    ('test: --tta without a tta pipeline', run_test_py('finite.pth', extra=['--tta']),
     f'--tta needs tta_model and tta_pipeline in {TCFORMER}'),
    ('train: misspelt top-level option', run_train_py('test_dataloder.batch_size=2'),
     "--cfg-options test_dataloder.batch_size: there is no key 'test_dataloder' at the top "
     'of the config, so the option would be ignored; did you mean test_dataloader?'),
    ('test: misspelt nested option', run_test_py('finite.pth', 'test_dataloader.datset.x=2'),
     "there is no key 'datset' in test_dataloader, so the option would be ignored; did you "
     'mean test_dataloader.dataset?'),
    ('train: --work-dir is a file',
     lambda f: ['tools/train.py', CONFIG, '--work-dir', f'{f["dir"]}/notes.pth'],
     'the work dir {dir}/notes.pth is a file, not a directory'),
    ('train: --resume with an empty last_checkpoint',
     lambda f: ['tools/train.py', CONFIG, '--resume', '--work-dir', f'{f["dir"]}/stopped'],
     '--resume: {dir}/stopped/last_checkpoint is empty; the newest checkpoint there is '
     '{dir}/stopped/epoch_3.pth: give it with --resume PATH'),
    ('train: --auto-scale-lr without a base batch size',
     run_train_py('auto_scale_lr=None', extra=['--auto-scale-lr']),
     '--auto-scale-lr needs "auto_scale_lr = dict(base_batch_size=...)"'),
    ('train: config of no codebase', lambda f: ['tools/train.py', f'{f["dir"]}/no_scope.py'],
     "default_scope must be one of ('mmpretrain', 'mmpose', 'mmseg', 'mmdet'), got None"),
    ('train: config that does not load', lambda f: ['tools/train.py', f'{f["dir"]}/notes.pth'],
     'cannot load the config {dir}/notes.pth'),
    ('dist_train.sh: zero GPUs', lambda f: ['tools/dist_train.sh', CONFIG, '0'],
     "GPUS must be the number of processes on this node (a positive integer), got '0'"),
    ('dist_train.sh: GPU count left out', lambda f: ['tools/dist_train.sh', CONFIG],
     "got ''; usage: tools/dist_train.sh CONFIG GPUS"),
    ('dist_train.sh: missing config', lambda f: ['tools/dist_train.sh', 'no/such.py', '2'],
     'CONFIG file not found: no/such.py'),
    ('dist_test.sh: missing checkpoint', lambda f: ['tools/dist_test.sh', CONFIG, 'x.pth', '2'],
     'CHECKPOINT file not found: x.pth'),
    ('dist_test.sh: GPU count not a number',
     lambda f: ['tools/dist_test.sh', CONFIG, f'{f["dir"]}/finite.pth', 'two'],
     "GPUS must be the number of processes on this node (a positive integer), got 'two'"),
]

PROGRAMS = ('tools/train.py', 'tools/test.py', 'dist_train.sh', 'dist_test.sh')


@pytest.mark.parametrize('args,message', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(files, args, message):
    result = run_tool(args(files), check=False)
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(tuple(f'{prog}: error: ' for prog in PROGRAMS)), last
    assert message.format(dir=files['dir']) in last


def test_cases_are_distinct():
    assert len({c[0] for c in CASES}) == len(CASES)


def test_traceback_on_request(files):
    result = run_tool(['tools/train.py', 'configs/no/such_config.py'],
                      env=dict(TCFORMER_TRACEBACK='1'),
                      check=False)
    assert 'Traceback' in result.stderr and 'FileNotFoundError' in result.stderr


def test_resume_with_nothing_to_resume_starts_fresh(files):
    result = run_tool([
        'tools/train.py', CONFIG, '--resume', '--work-dir', f'{files["dir"]}/fresh',
        '--cfg-options', 'train_cfg.max_epochs=0', *data_options(files['data'])
    ],
                      check=False)
    assert f'--resume: no checkpoint in {files["dir"]}/fresh yet' in result.stdout
    assert 'resumed from the latest checkpoint None' not in result.stdout + result.stderr


def test_non_strict_loads_what_fits(files):
    result = run_tool([
        'tools/test.py', CONFIG, f'{files["dir"]}/resnet18.pth', '--non-strict', '--work-dir',
        f'{files["dir"]}/w', '--cfg-options', *data_options(files['data'])
    ])
    assert 'accuracy/top1' in result.stdout + result.stderr


def test_both_local_rank_spellings_parse():
    for flag in ('--local_rank=1', '--local-rank=1'):
        result = run_tool(['tools/train.py', 'configs/no/such_config.py', flag], check=False)
        assert 'config file not found' in result.stderr.strip().splitlines()[-1]


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


def test_full_disk_leaves_no_checkpoint(files):
    """A file-size limit (as a full quota) below the checkpoint's size: one line with the size,
    and no truncated epoch_1.pth for a later --resume to pick."""
    work_dir = files['dir'] / 'full'
    options = run_train_py('train_cfg.max_epochs=1', 'train_cfg.val_interval=5')(files)[1:]
    command = ' '.join(str(work_dir) if o == f'{files["dir"]}/w' else o for o in options)
    script = f"ulimit -f 20000; trap '' XFSZ; exec {sys.executable} tools/train.py {command}"
    result = run_tool(['bash', '-c', script], check=False)
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f'tools/train.py: error: cannot write the checkpoint {work_dir}/'
                           'epoch_1.pth: File too large (it needs '), last
    assert 'nothing was written under that name' in last
    assert not list(work_dir.glob('*.pth')) and not list(work_dir.glob('.*.tmp'))
