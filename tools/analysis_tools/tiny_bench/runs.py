"""Orchestration: every task's trainings (``tools/train.py``) and evaluations
(``tiny_benchmark.py --evaluate``), each in a process of its own, its output to a log."""
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import List, Optional

from .configs import ROOT, run_config
from .evaluation import RESULT_MARK
from .tasks import TASKS

#: The command line, rerun with ``--evaluate`` for every evaluation.
CLI = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tiny_benchmark.py')


def run(cmd: List[str], log_path: str) -> float:
    """Run a command from the repository root, its output to ``log_path``; the minutes it
    took. Exits on failure, with the end of the log."""
    start = time.perf_counter()
    with open(log_path, 'w') as log:
        result = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise SystemExit(f'tiny_benchmark.py: {" ".join(cmd)} failed (log {log_path}):\n{tail}')
    return (time.perf_counter() - start) / 60


def last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def iterations(work_dir: str) -> int:
    """Training iterations the run's logger saw (its last step)."""
    steps = [0]
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                steps += [json.loads(line).get('step', 0) for line in f if line.strip()]
    return max(steps)


def evaluate_run(config: str, task_name: str, checkpoint: Optional[str], log_path: str) -> dict:
    """Metrics of a model (untrained without ``checkpoint``), from a fresh process."""
    from tcformer_mm.utils.rerun import json_result, rerun_command
    cmd = rerun_command(CLI, '--evaluate', config, '--task', task_name)
    if checkpoint:
        cmd += ['--checkpoint', checkpoint]
    run(cmd, log_path)
    with open(log_path) as f:
        return json_result(f.read(), RESULT_MARK)


def run_task(name: str, args) -> dict:
    """Train and evaluate the TCFormer (trained and untrained) and, unless ``--no-stock``, the
    stock model of one task: its entry of the results."""
    task = TASKS[name]
    result = dict(minutes={}, stock=None)
    for model in ('tcformer', 'stock'):
        if model == 'stock' and args.no_stock:
            continue
        work_dir = osp.abspath(osp.join(args.work_dir, name, model))
        config = run_config(task, model == 'stock', args, work_dir)
        print(f'[{name}] training {model} ...', flush=True)
        result['minutes'][model] = run(
            [sys.executable, 'tools/train.py', config, '--work-dir', work_dir],
            osp.join(work_dir, 'train.log'))
        if model == 'tcformer':
            result['iterations'] = iterations(work_dir)
        print(f'[{name}] evaluating {model} ...', flush=True)
        result[model] = evaluate_run(config, name, last_checkpoint(work_dir),
                                     osp.join(work_dir, 'eval_trained.log'))
        if model == 'tcformer':
            result['untrained'] = evaluate_run(config, name, None,
                                               osp.join(work_dir, 'eval_untrained.log'))
    return result
