"""Glue shared by ``tools/train.py`` and ``tools/test.py`` for configs of any codebase.

The codebase comes from the config's ``default_scope`` (mmpretrain, mmpose, mmseg or mmdet);
what differs between their launchers (visualisation switches, result dumping) is handled here.
"""
import os
import os.path as osp
import sys
import warnings
from datetime import timedelta

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction

SCOPES = ('mmpretrain', 'mmpose', 'mmseg', 'mmdet')

# mmengine's `is_installed` imports and reloads pkg_resources when a config's `_base_` names a
# codebase (`mmpretrain::...`); setuptools >= 67 warns about it at every tool start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)


def load_config(path, cfg_options=None):
    """Load a config with a clear error for a missing file, a file that does not load as a
    config, or an unknown scope."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    # A config is a Python file run by mmengine: whatever it raises means it is not a usable
    # config, and the first line of the error says why.
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ''
        raise ValueError(f'cannot load the config {path}: {type(e).__name__}: {reason}') from e
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'{path}: default_scope must be one of {SCOPES}, got {scope!r}')
    return cfg


def add_size_argument(parser, flag='--shape', default=None, help='input size'):
    """``FLAG H W``: two ints, a (height, width)."""
    parser.add_argument(flag, type=int, nargs=2, default=default, metavar=('H', 'W'), help=help)


def add_runner_args(parser, non_strict_help):
    """The flags ``tools/train.py`` and ``tools/test.py`` share (as mmdet's launchers)."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format '
        'will be merged into config file. If the value to be overwritten is a list, it should '
        'be like key="[a,b]" or key=a,b It also allows nested list/tuple values, e.g. '
        'key="[(a,b),(c,d)]" Note that the quotation marks are necessary and that no white '
        'space is allowed.')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none',
                        help='job launcher')
    parser.add_argument('--non-strict', action='store_true', help=non_strict_help)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser):
    args = parser.parse_args()
    set_local_rank(args.local_rank)
    return args


def runner_config(args):
    """The config of ``args.config`` with ``--cfg-options``, the launcher and the work dir."""
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.config, args.work_dir)
    return cfg


def set_work_dir(cfg, config_path, work_dir=None):
    """CLI ``--work-dir`` > ``work_dir`` in the config > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def setup_cpu_distributed(cfg):
    """Let a ``--launcher pytorch`` job run on a machine without CUDA, with gloo.

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device`` and the configs ask for
    nccl; its default DDP wrapper pins ``device_ids`` to the local GPU. On a CPU-only machine we
    start the gloo process group ourselves (the runner then skips ``init_dist``) and let DDP
    wrap a CPU module.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return
    import mmengine.model  # noqa: F401  (registers the DDP wrappers in MODEL_WRAPPERS)
    from mmengine.registry import MODEL_WRAPPERS

    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout', 1800)
        torch_dist.init_process_group(backend='gloo', timeout=timedelta(seconds=timeout))
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel',
                                                   broadcast_buffers=False,
                                                   find_unused_parameters=cfg.get(
                                                       'find_unused_parameters', False))
    wrapper_type = MODEL_WRAPPERS.get(wrapper.get('type', 'MMDistributedDataParallel'))
    if isinstance(wrapper_type, type) and issubclass(wrapper_type,
                                                     torch.nn.parallel.DistributedDataParallel):
        wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def enable_amp(cfg):
    """Switch the optimizer wrapper to mixed precision: mmengine's ``AmpOptimWrapper`` (fp16
    with dynamic loss scaling) on GPU, ``CPUAmpOptimWrapper`` (bf16 autocast) without CUDA,
    where mmengine's wrapper refuses to start."""
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    else:
        # fp16 autocast has few CPU kernels and loss scaling is meaningless for bf16.
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
        cfg.optim_wrapper.pop('loss_scale', None)


def add_strict_load_hook(cfg):
    """Refuse a ``load_from`` checkpoint whose backbone / neck keys do not fit the model
    (:class:`~tcformer_mm.engine.StrictLoadHook`)."""
    if cfg.get('load_from'):
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='StrictLoadHook')]


def _data_roots(dataset, key):
    """(config key, data_root) of a dataset config and of the datasets it wraps."""
    if not isinstance(dataset, dict):
        return
    if dataset.get('data_root'):
        yield f'{key}.data_root', dataset['data_root']
    if isinstance(dataset.get('dataset'), dict):
        yield from _data_roots(dataset['dataset'], f'{key}.dataset')
    for i, inner in enumerate(dataset.get('datasets') or []):
        yield from _data_roots(inner, f'{key}.datasets.{i}')


def check_data_roots(cfg, splits):
    """A FileNotFoundError naming the config key for a data root that does not exist."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for key, root in _data_roots(loader.get('dataset'), f'{split}_dataloader.dataset'):
            if not osp.isdir(root):
                raise FileNotFoundError(f'{key}: data directory not found: {root} (prepare the '
                                        f'data set there, or set it with --cfg-options '
                                        f'{key}=PATH)')


def enable_auto_scale_lr(cfg):
    auto_scale_lr = cfg.get('auto_scale_lr')
    if not auto_scale_lr or 'base_batch_size' not in auto_scale_lr:
        raise ValueError('--auto-scale-lr needs "auto_scale_lr = dict(base_batch_size=...)" '
                         'in the config')
    auto_scale_lr.enable = True


def set_resume(cfg, resume):
    """``--resume`` alone: from the latest checkpoint of the work dir; with a path: from it."""
    if resume == 'auto':
        # The runner resumes from what ``last_checkpoint`` names; without it there is nothing.
        if not osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
            print(f'--resume: no checkpoint in {cfg.work_dir} yet; training starts from the '
                  'beginning.')
            return
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'checkpoint file not found: {resume}')
        cfg.resume = True
        cfg.load_from = resume


def enable_visualization(cfg, show=False, show_dir=None, wait_time=2.):
    """Turn on the codebase's visualisation hook (its switches are named differently)."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ValueError('--show/--show-dir need a "visualization" hook in default_hooks')
    scope = cfg.default_scope
    if scope in ('mmdet', 'mmseg'):
        hook['draw'] = True
    else:
        hook['enable'] = True
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        if scope == 'mmdet':
            hook['test_out_dir'] = show_dir
        elif scope == 'mmseg':
            cfg.visualizer['save_dir'] = show_dir
        else:
            hook['out_dir'] = show_dir


def dump_results_metric(scope, out):
    """The metric that writes predictions to ``out`` for offline evaluation."""
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {out}')
    if scope == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        return DumpDetResults(out_file_path=out)
    from mmengine.evaluator import DumpResults
    return DumpResults(out_file_path=out)


def run_cli(main, prog):
    """Run a tool's ``main``; a user error (missing file, bad value, bad config) ends with one
    line ``prog: error: message`` and exit status 2 instead of a traceback. Set
    ``TCFORMER_TRACEBACK=1`` to see the traceback."""
    try:
        main()
    except (FileNotFoundError, ValueError, TypeError, KeyError) as e:
        if os.environ.get('TCFORMER_TRACEBACK'):
            raise
        # A KeyError's str() is the repr of its argument (quoted); show the message itself.
        message = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        print(f'{prog}: error: {message.strip()}', file=sys.stderr)
        sys.exit(2)


def run_converter(prog, src, dst, convert):
    """A converter's work: read SRC with the project's loader (released files weights-only,
    runner checkpoints in full), ``convert`` it to a state dict, write DST; a bad file ends the
    program with one line naming it."""
    from tcformer_mm.checkpoint import load_checkpoint_file, save_converted
    try:
        state_dict = convert(load_checkpoint_file(src, map_location='cpu'))
        save_converted(state_dict, src, dst)
    except (FileNotFoundError, TypeError, ValueError) as e:
        sys.exit(f'{prog}: {e}')
    print(f'{len(state_dict)} keys written to {dst}')


def set_local_rank(local_rank):
    # torch.distributed.launch passes --local-rank; torchrun only sets LOCAL_RANK.
    os.environ.setdefault('LOCAL_RANK', str(local_rank))


def teardown_distributed():
    """Shut the process group down before the interpreter exits.

    mmengine leaves it open; a gloo group torn down by interpreter exit can abort a process
    that already finished its work ("terminate called without an active exception").
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
