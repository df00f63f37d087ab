"""Reporting: the markdown table (one row per task and metric) and the JSON of every figure."""
import json
import os
import os.path as osp
from typing import Optional

from .tasks import TASKS
from .wholebody import REGIONS


def pick(metrics: Optional[dict], key: str) -> Optional[float]:
    """``metrics[key]``, else the evaluator's prefixed ``<prefix>/<key>`` (not a baseline or
    concentration entry)."""
    if metrics is None:
        return None
    if key in metrics:
        return metrics[key]
    for name, value in metrics.items():
        if name.endswith('/' + key) and not name.startswith(('constant/', 'concentration/')):
            return value
    return None


def fmt(value: Optional[float]) -> str:
    if value is None:
        return '-'
    return f'{value:.1f}' if abs(value) >= 10 else f'{value:.3f}'


def _metric_rows(name: str, r: dict) -> list:
    task = TASKS[name]
    minutes = f'{r["minutes"]["tcformer"]:.1f} / ' + (
        f'{r["minutes"]["stock"]:.1f}' if r['minutes'].get('stock') is not None else '-')
    return [
        f'| {name} | {label}{"" if higher else " (lower is better)"} | '
        f'{fmt(pick(r["tcformer"], key))} | {fmt(pick(r["stock"], key))} | {task.stock} | '
        f'{fmt(pick(r["untrained"], key))} | {fmt(pick(r["untrained"], "constant/" + key))} | '
        f'{r["iterations"]} | {minutes} |' for label, key, higher in task.metrics
    ]


def _concentration_rows(name: str, r: dict) -> list:
    rows = []
    for region in REGIONS:
        for s in range(1, 5):
            key = f'concentration/{region}/stage{s}'
            rows.append(f'| {name} | token concentration on the {region}, stage {s} | '
                        f'{fmt(pick(r["tcformer"], key))} | - | | '
                        f'{fmt(pick(r["untrained"], key))} | | | |')
    return rows


def table(results: dict) -> str:
    """The markdown table of the results (task name -> ``runs.run_task``'s entry)."""
    lines = [
        '| task | metric | TCFormer | stock | stock model | untrained TCFormer | best constant | '
        'iterations | minutes (TCFormer / stock) |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for name, r in results.items():
        lines += _metric_rows(name, r)
        if TASKS[name].wholebody:
            lines += _concentration_rows(name, r)
    return '\n'.join(lines) + '\n'


def write_results(results: dict, out: str) -> str:
    """Write the table to ``out`` and every figure to ``out`` with ``.json``; the table."""
    text = table(results)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(text)
    with open(osp.splitext(out)[0] + '.json', 'w') as f:
        json.dump(results, f, indent=1)
    return text
