"""Does every task learn? Train the tiny TCFormer configs and their stock counterparts.

Examples::

    python tools/analysis_tools/tiny_benchmark.py                      # every task
    python tools/analysis_tools/tiny_benchmark.py --tasks classification wholebody
    python tools/analysis_tools/tiny_benchmark.py --quick --tasks classification   # minutes
    python tools/analysis_tools/tiny_benchmark.py --tasks rle --seed 1 --length 40

For every task a tiny config of ``configs/tiny/`` is trained on the generated tiny set
(``make data``; ``--data-root``) twice with the same data, recipe, seed and iterations: as it
is (TCFormer) and with the backbone and neck swapped for stock ones of similar cost
(``tcformer_mm.utils.stock``: mmdet's PVTv2-B1, whose stage widths and depths are those of
TCFormerV2-Tiny and V1-Light, with FPN, a concatenation of the four maps for top-down pose,
global average pooling, or mmdet's deformable-attention pixel decoder in Mask2Former;
mmpretrain's ResNet-18 for classification). Both trained models and
the untrained TCFormer (a trivial baseline: what the metric gives without learning) are
evaluated on the validation set with the config's own evaluator. Where a constant prediction
is a meaningful baseline (classification: the most frequent class; segmentation: one class
everywhere), its best value on the validation set is reported too. Training runs through
``tools/train.py`` without validation; evaluations run in fresh processes (``--evaluate``).

On the whole-body task the per-part APs (body, foot, face, hands) are those of mmpose's
``CocoWholeBodyMetric`` (it evaluates every part but returns the whole-body AP only: the others
are recorded as it runs), and the token concentration of every stage
(``tcformer_mm.analysis.token_concentration``) on the figure, the face box and the hand boxes
is measured for the trained and the untrained TCFormer: the share of tokens on the region over
the region's share of the input (1 for a grid).

Writes ``--out`` (markdown: one row per task and metric, with iterations and minutes) and
``--out`` with ``.json`` (every figure), and prints the table. ``--quick`` trains a few
iterations only: it shows that the losses move the metrics, not what they reach. ``--seed``
trains both models with another seed (the configs' is 0), ``--length`` one task for another
number of epochs or iterations, its learning-rate schedule stretched to it.

The pieces live in the package ``tiny_bench/`` beside this file (task table, config surgery,
runs, evaluation, whole-body figures, report); this file is the command line.
"""
import argparse
import os.path as osp
import sys

# The pieces are the package tiny_bench/ beside this file. Running the file puts this folder on
# sys.path; importing it by path (tests) does not, so it is added here.
if osp.dirname(osp.abspath(__file__)) not in sys.path:
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from tiny_bench.configs import CONFIG_DATA_ROOT, run_config
from tiny_bench.report import write_results
from tiny_bench.runs import run_task
from tiny_bench.tasks import TASKS

# What other code reads from this module (the tests: the task table, the run configs).
__all__ = ['TASKS', 'main', 'parse_args', 'run_config']


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tasks', nargs='+', choices=sorted(TASKS), help='default: all')
    parser.add_argument('--data-root', default=CONFIG_DATA_ROOT, help='the tiny sets (make data)')
    parser.add_argument('--work-dir', default='work_dirs/tiny_benchmark')
    parser.add_argument('--out', help='markdown table (default WORK_DIR/results.md)')
    parser.add_argument('--quick', action='store_true', help='a few iterations per task')
    parser.add_argument('--no-stock', action='store_true', help='skip the stock models')
    parser.add_argument('--length',
                        type=int,
                        help='training epochs or iterations (as the task counts them) instead '
                        'of the full or quick length; with one task')
    parser.add_argument('--seed',
                        type=int,
                        help='training seed of both models (default: the config\'s, 0)')
    parser.add_argument('--evaluate', metavar='CONFIG', help=argparse.SUPPRESS)
    parser.add_argument('--checkpoint', help=argparse.SUPPRESS)
    parser.add_argument('--task', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.length is not None and (args.length < 1 or len(args.tasks or TASKS) != 1):
        parser.error(f'--length: expected a positive number of epochs or iterations and one '
                     f'task in --tasks, got {args.length} for {args.tasks or "every task"}')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.evaluate:
        # An evaluation process of run_task: the metrics as one JSON line.
        from tiny_bench.evaluation import evaluate, print_result
        print_result(evaluate(TASKS[args.task], args.evaluate, args.checkpoint))
        return
    results = {name: run_task(name, args) for name in args.tasks or TASKS}
    out = args.out or osp.join(args.work_dir, 'results.md')
    print(write_results(results, out))
    print(f'written: {out}')


if __name__ == '__main__':
    main()
