"""What an evaluation process (``tiny_benchmark.py --evaluate``) runs: the config's own
evaluator on the validation set, for a trained or an untrained model, and the baselines."""
import contextlib
import json
import os
import os.path as osp
from typing import Dict, Optional

from .tasks import Task

#: Printed by ``--evaluate`` before its JSON line.
RESULT_MARK = 'TINY_BENCHMARK_RESULT '


def evaluate(task: Task, config: str, checkpoint: Optional[str]) -> Dict[str, float]:
    """Metrics of the model of ``config`` on its test set: trained (``checkpoint``) or as
    initialised; the untrained model adds the best constant prediction (``constant/<key>``),
    the whole-body task its per-part APs and token concentrations (``wholebody``)."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    import tcformer_mm  # noqa: F401  (registers our modules)
    from .wholebody import clusters_tokens, record_part_aps, wholebody_concentration
    cfg = Config.fromfile(config)
    name = 'trained' if checkpoint else 'untrained'
    cfg.work_dir = osp.join(osp.dirname(config), f'eval_{name}')
    cfg.load_from = checkpoint
    torch.manual_seed(0)
    runner = Runner.from_cfg(cfg)
    if not checkpoint:
        runner.model.init_weights()
    with (record_part_aps() if task.wholebody else contextlib.nullcontext({})) as part_aps:
        metrics = dict(runner.test())
    if not metrics:
        # mmdet's CocoMetric returns nothing when the model predicts no box at all: AP 0.
        metrics = {key: 0.0 for _, key, _ in task.metrics}
    metrics.update(part_aps)
    if task.constant is not None and not checkpoint:
        constant = task.constant(runner.test_dataloader.dataset)
        metrics.update({f'constant/{k}': v for k, v in constant.items()})
    if task.wholebody and clusters_tokens(runner.model.backbone):
        picture = osp.join(osp.dirname(config), f'tokens_{name}.jpg')
        if osp.exists(picture):
            os.remove(picture)
        metrics.update(wholebody_concentration(runner, cfg.test_evaluator.ann_file, picture))
    return {k: float(v) for k, v in metrics.items()}


def print_result(metrics: Dict[str, float]) -> None:
    """The line that ``runs.evaluate_run`` reads back."""
    print(RESULT_MARK + json.dumps(metrics), flush=True)
