"""Glue shared by ``tools/train.py`` and ``tools/test.py`` for configs of any codebase.

The codebase comes from the config's ``default_scope`` (mmpretrain, mmpose, mmseg or mmdet);
what differs between their launchers (visualisation switches, result dumping) is handled here.
"""
import os
import os.path as osp
from datetime import timedelta

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

SCOPES = ('mmpretrain', 'mmpose', 'mmseg', 'mmdet')


def load_config(path, cfg_options=None):
    """Load a config with a clear error for a missing file or an unknown scope."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'{path}: default_scope must be one of {SCOPES}, got {scope!r}')
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
    """Switch the optimizer wrapper to mixed precision (fp16 on GPU, bf16 on CPU)."""
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    if torch.cuda.is_available():
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    else:
        # fp16 autocast is not supported on CPU and loss scaling is meaningless for bf16.
        cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
        cfg.optim_wrapper.pop('loss_scale', None)


def enable_auto_scale_lr(cfg):
    auto_scale_lr = cfg.get('auto_scale_lr')
    if not auto_scale_lr or 'base_batch_size' not in auto_scale_lr:
        raise RuntimeError('--auto-scale-lr needs "auto_scale_lr = dict(base_batch_size=...)" '
                           'in the config')
    auto_scale_lr.enable = True


def set_resume(cfg, resume):
    """``--resume`` alone: from the latest checkpoint of the work dir; with a path: from it."""
    if resume == 'auto':
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
        raise RuntimeError('--show/--show-dir need a "visualization" hook in default_hooks')
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
