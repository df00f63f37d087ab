"""Glue shared by ``tools/train.py`` and ``tools/test.py`` for configs of any codebase.

The codebase comes from the config's ``default_scope`` (mmpretrain, mmpose, mmseg or mmdet);
what differs between their launchers (visualisation switches, result dumping) is handled here.
"""
import difflib
import glob
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
    # A config is a Python file run by mmengine: whatever it raises means it is not a usable
    # config, and the first line of the error says why.
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ''
        raise ValueError(f'cannot load the config {path}: {type(e).__name__}: {reason}') from e
    if cfg_options:
        for key in cfg_options:
            check_option_key(cfg, key)
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'{path}: default_scope must be one of {SCOPES}, got {scope!r}')
    return cfg


def _runner_keys() -> set:
    """Top-level config keys the runner and these tools read even when a config lacks them."""
    import inspect

    from mmengine.runner import Runner
    return set(inspect.signature(Runner.__init__).parameters) - {'self'} | {
        'runner_type', 'model_wrapper_cfg', 'find_unused_parameters', 'custom_imports', 'tta_model',
        'tta_pipeline', 'compile', 'activation_checkpointing', 'efficient_conv_bn_eval'
    }


def check_option_key(cfg, key: str) -> None:
    """Refuse a ``--cfg-options`` key that would be ignored: a top-level key the config does not
    have and the runner does not read, or a path through a key that does not exist. The last
    part of a longer key may be new (an argument the config leaves at its default).

    Raises:
        KeyError: Naming the key and the nearest existing one.
    """
    parts = key.split('.')
    node, path = cfg.to_dict(), []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, (list, tuple)):
            if not (part.isdigit() and int(part) < len(node)):
                raise KeyError(f'--cfg-options {key}: {".".join(path)} is a list of {len(node)} '
                               f'items; {part!r} is not an index of it')
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node and not (last and depth > 0):
                if depth == 0 and part in _runner_keys():
                    return
                choices = list(node) + (list(_runner_keys()) if depth == 0 else [])
                near = difflib.get_close_matches(part, choices, n=1)
                hint = f'; did you mean {".".join(path + near)}?' if near else ''
                where = f'in {".".join(path)}' if path else 'at the top of the config'
                raise KeyError(f'--cfg-options {key}: there is no key {part!r} {where}, so the '
                               f'option would be ignored{hint}')
            node = node.get(part)
        else:  # None or a value: the option replaces it with a dict, as mmengine merges
            return
        path.append(part)


def add_size_argument(parser, flag='--shape', default=None, help='input size'):
    """``FLAG H W``: two ints, a (height, width)."""
    parser.add_argument(flag, type=int, nargs=2, default=default, metavar=('H', 'W'), help=help)


def add_cfg_options_argument(parser, help='override config settings, key=value', **kwargs):
    """``--cfg-options KEY=VALUE ...``: settings merged into the config (mmengine's
    ``DictAction``); ``kwargs`` go to ``add_argument`` (e.g. ``default``)."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=help, **kwargs)


def add_runner_args(parser, non_strict_help):
    """The flags ``tools/train.py`` and ``tools/test.py`` share (as mmdet's launchers)."""
    add_cfg_options_argument(
        parser,
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
    add_trust_argument(parser)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def add_trust_argument(parser):
    """``--trust-checkpoint``: unpickle checkpoints in full (see :func:`apply_trust`)."""
    parser.add_argument('--trust-checkpoint',
                        action='store_true',
                        help='load checkpoints that hold Python objects beyond tensors, numpy '
                        'values and mmengine runner state; this runs code from the file, so '
                        'only use it for files from a source you trust')


def apply_trust(args):
    """Make ``--trust-checkpoint`` reach every loader of the run (mmengine's included) through
    the environment variable the library reads."""
    from tcformer_mm.checkpoint import TRUST_ENV
    if getattr(args, 'trust_checkpoint', False):
        os.environ[TRUST_ENV] = '1'


def parse_runner_args(parser):
    args = parser.parse_args()
    set_local_rank(args.local_rank)
    apply_trust(args)
    return args


def runner_config(args):
    """The config of ``args.config`` with ``--cfg-options``, the launcher and the work dir."""
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.config, args.work_dir)
    from tcformer_mm.datasets import install_data_checks  # a bad data file names itself
    install_data_checks()
    return cfg


def set_work_dir(cfg, config_path, work_dir=None):
    """CLI ``--work-dir`` > ``work_dir`` in the config > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    check_writable_dir(cfg.work_dir, 'the work dir')


def check_writable_dir(path: str, what: str) -> None:
    """A ValueError naming ``path`` if it is a file, or if it (or the directory it would be
    made in) cannot be written."""
    if osp.exists(path) and not osp.isdir(path):
        raise ValueError(f'{what} {path} is a file, not a directory')
    existing = osp.abspath(path)
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        raise ValueError(f'{what} {path} cannot be made: {existing} is a file')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f'{what} {path} is not writable ({existing} is read-only for this user)')


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
        last = osp.join(cfg.work_dir, 'last_checkpoint')
        if not osp.isfile(last):
            print(f'--resume: no checkpoint in {cfg.work_dir} yet; training starts from the '
                  'beginning.')
            return
        with open(last) as f:
            named = f.read().strip()
        if not osp.isfile(named):
            found = sorted(glob.glob(osp.join(cfg.work_dir, '*.pth')), key=osp.getmtime)
            hint = f'; the newest checkpoint there is {found[-1]}: give it with --resume PATH' \
                if found else '; there is no checkpoint in that directory'
            problem = 'is empty' if not named else f'names {named}, which does not exist'
            raise FileNotFoundError(f'--resume: {last} {problem}{hint}')
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
    """Run a tool's ``main``; a user error (missing or unreadable file, bad value, bad config, a
    disk that cannot take a checkpoint) ends with one line ``prog: error: message`` and exit
    status 2 instead of a traceback. Set ``TCFORMER_TRACEBACK=1`` to see the traceback."""
    try:
        main()
    except (OSError, ValueError, TypeError, KeyError) as e:
        if os.environ.get('TCFORMER_TRACEBACK'):
            raise
        print(f'{prog}: error: {error_message(e)}', file=sys.stderr)
        sys.exit(2)


def error_message(error: BaseException) -> str:
    """The message of ``error`` as one line for a user.

    A KeyError's str() is the repr of its argument (quoted): its argument is shown instead. An
    error raised in a DataLoader worker arrives with the worker's traceback in its message; its
    last line is the error itself.
    """
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    if 'Original Traceback (most recent call last)' in message:
        last = message.strip().splitlines()[-1]
        message = last.split(': ', 1)[1] if ': ' in last else last
    return message.strip()


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


def add_repo_root_to_path(script: str) -> None:
    """Put the folder above the ``tools/`` folder of ``script`` (a tool's ``__file__``) first on
    ``sys.path``: the repository root in a checkout (``tcformer_mm/.mim`` in a mim install).

    A script run by path has its own folder on ``sys.path``, not the repository root, so a
    config's ``custom_imports`` could not name ``projects.<name>.<name>``. ``tcformer_mm``
    itself needs no path: ``tools/install.sh`` installs it.
    """
    tools = osp.dirname(osp.abspath(script))
    while osp.basename(tools) != 'tools':
        if osp.dirname(tools) == tools:
            raise ValueError(f'{script} is not in a tools/ folder')
        tools = osp.dirname(tools)
    root = osp.dirname(tools)
    if sys.path[:1] != [root]:
        sys.path.insert(0, root)


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
