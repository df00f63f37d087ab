"""Config surgery: the config of one training run, from a task's tiny config."""
import os
import os.path as osp
from typing import Optional

from .tasks import Task

#: The repository root: the tiny configs and tools/train.py are named from it.
ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
#: The data root the tiny configs name; ``--data-root`` replaces it.
CONFIG_DATA_ROOT = 'data/tiny/'


def replace_data_root(node, root: str):
    """Every string of the config that starts with the tiny configs' data root, re-rooted."""
    if isinstance(node, dict):
        return {k: replace_data_root(v, root) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(replace_data_root(v, root) for v in node)
    if isinstance(node, str) and node.startswith(CONFIG_DATA_ROOT):
        return osp.join(root, node[len(CONFIG_DATA_ROOT):])
    return node


def write_run_config(task: Task, stock: bool, work_dir: str, data_root: str, length: int,
                     seed: Optional[int]) -> str:
    """Write the config of one training run into ``work_dir``; return its path.

    The task's config trained for ``length`` epochs or iterations (its schedule stretched to
    it), with the stock backbone and neck if ``stock``, on the tiny sets under ``data_root``,
    with ``seed`` if given; data loaders without worker processes, no validation during
    training (the evaluations run apart)."""
    from mmengine.config import Config

    from tcformer_mm.utils.launch import load_config
    from tcformer_mm.utils.stock import stock_counterpart
    cfg = load_config(osp.join(ROOT, task.config), task.schedule(length))
    if stock:
        cfg = stock_counterpart(cfg, 'b1')
    cfg = Config(replace_data_root(cfg.to_dict(), osp.abspath(data_root) + '/'))
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is not None:
            loader.num_workers = 0
            loader.persistent_workers = False
    # Training only trains and saves the last checkpoint.
    cfg.train_cfg.val_interval = 10**9
    if seed is not None:
        cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    path = osp.join(work_dir, 'config.py')
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(path)
    return path


def run_config(task: Task, stock: bool, args, work_dir: str) -> str:
    """:func:`write_run_config` with the command line's ``--data-root``, ``--quick``,
    ``--length`` and ``--seed``."""
    return write_run_config(task, stock, work_dir, args.data_root,
                            task.length(args.quick, args.length), args.seed)
