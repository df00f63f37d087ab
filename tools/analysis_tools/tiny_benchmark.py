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

On the whole-body task the per-part APs (body, foot, face, hands) are computed from the
evaluator's predictions as mmpose's ``CocoWholeBodyMetric`` computes (and prints) them, and the
token concentration of every stage (``tcformer_mm.analysis.token_concentration``) on the
figure, the face box and the hand boxes is measured for the trained and the untrained TCFormer:
the share of tokens on the region over the region's share of the input (1 for a grid).

Writes ``--out`` (markdown: one row per task and metric, with iterations and minutes) and
``--out`` with ``.json`` (every figure), and prints the table. ``--quick`` trains a few
iterations only: it shows that the losses move the metrics, not what they reach. ``--seed``
trains both models with another seed (the configs' is 0), ``--length`` one task for another
number of epochs or iterations, its learning-rate schedule stretched to it.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

#: The repository root: the tiny configs and tools/train.py are named from it.
ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

#: The data root the tiny configs name; ``--data-root`` replaces it.
CONFIG_DATA_ROOT = 'data/tiny/'
#: Printed by ``--evaluate`` before its JSON line.
RESULT_MARK = 'TINY_BENCHMARK_RESULT '
#: Whole-body parts and their keypoints (COCO-WholeBody order).
WHOLEBODY_PARTS = (('body', 17), ('foot', 6), ('face', 68), ('lefthand', 21), ('righthand', 21))


class Task(NamedTuple):
    """A row group of the benchmark.

    config: tiny config; metrics: (label, evaluator key, higher is better); schedule: the
    ``--cfg-options`` that set the training length (epochs or iterations) and stretch the
    config's learning-rate schedule to it; full / quick: the lengths of a full and a
    ``--quick`` run; stock: the stock model (``tcformer_mm.utils.stock``); constant: the
    metrics of the best constant prediction, from the validation dataset.
    """
    config: str
    metrics: Tuple[Tuple[str, str, bool], ...]
    schedule: Callable[[int], Dict[str, object]]
    full: int
    quick: int
    wholebody: bool = False
    stock: str = 'PVTv2-B1'
    constant: Optional[Callable] = None


def constant_top1(dataset) -> Dict[str, float]:
    """Top-1 (%) of always answering the most frequent validation class."""
    import numpy as np
    labels = np.array([info['gt_label'] for info in dataset.load_data_list()])
    return {'accuracy/top1': 100.0 * np.bincount(labels).max() / len(labels)}


def constant_miou(dataset) -> Dict[str, float]:
    """mIoU (%) of the best one-class-everywhere prediction, as ``IoUMetric`` counts it: the
    class's IoU is its pixel share, the other classes present get 0, absent ones do not count."""
    import mmcv
    import numpy as np
    counts = {}
    for info in dataset.load_data_list():
        label = mmcv.imread(info['seg_map_path'], flag='unchanged').astype(np.int64)
        if info.get('reduce_zero_label'):
            label = np.where(label == 0, 255, label - 1)
        values, numbers = np.unique(label[label != 255], return_counts=True)
        for v, n in zip(values.tolist(), numbers.tolist()):
            counts[v] = counts.get(v, 0) + n
    total = sum(counts.values())
    return {'mIoU': 100.0 * max(counts.values()) / total / len(counts)}


def _cls_epochs(n):
    """Warm-up epoch, then cosine to the end."""
    return {'train_cfg.max_epochs': n, 'param_scheduler.1.end': n}


def _pose_epochs(n):
    """Warm-up, then a step down at three quarters."""
    return {
        'train_cfg.max_epochs': n,
        'param_scheduler.1.end': n,
        'param_scheduler.1.milestones': [max(1, n * 3 // 4)]
    }


def _poly_iters(n):
    return {'train_cfg.max_iters': n, 'param_scheduler.0.end': n}


def _warmup_iters(n):
    """Warm-up, then constant (RetinaNet)."""
    return {'train_cfg.max_iters': n}


def _warmup_cosine_iters(n):
    return {'train_cfg.max_iters': n, 'param_scheduler.1.end': n}


TASKS = {
    'classification':
    Task('configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py', (('top-1 (%)', 'accuracy/top1', True), ),
         _cls_epochs,
         12,
         2,
         stock='ResNet-18',
         constant=constant_top1),
    'wholebody':
    Task('configs/tiny/td-hm_tcformerv2-t-crmta_1xb8_tiny-coco-wholebody-96x72.py',
         (('whole-body AP', 'coco-wholebody/AP', True), ('body AP', 'body_AP', True),
          ('foot AP', 'foot_AP', True), ('face AP', 'face_AP', True),
          ('left-hand AP', 'lefthand_AP', True), ('right-hand AP', 'righthand_AP', True)),
         _pose_epochs,
         32,
         2,
         wholebody=True),
    'rle':
    Task('configs/tiny/td-reg_tcformerv2-t_rle-1xb8_tiny-coco-96x72.py',
         (('keypoint AP', 'coco/AP', True), ), _pose_epochs, 20, 2),
    'wflw':
    Task('configs/tiny/td-hm_tcformerv1-light_1xb8_tiny-wflw-64x64.py', (('NME', 'NME', False), ),
         _pose_epochs, 16, 2),
    'semantic-fpn':
    Task('configs/tiny/fpn_tcformerv2-tiny_crmta_1xb4_tiny-ade.py', (('mIoU', 'mIoU', True), ),
         _poly_iters,
         160,
         20,
         constant=constant_miou),
    'mask2former':
    Task('configs/tiny/mask2former_tcformerv2-tiny_crmta_1xb4_tiny-ade.py',
         (('mIoU', 'mIoU', True), ),
         _poly_iters,
         160,
         20,
         constant=constant_miou),
    'retinanet':
    Task('configs/tiny/retinanet_tcformerv2-t_mta_1xb4_tiny-coco.py',
         (('box AP', 'coco/bbox_mAP', True), ), _warmup_iters, 200, 20),
    'mask-rcnn':
    Task('configs/tiny/mask-rcnn_tcformerv2-t_mta_1xb4_tiny-coco.py',
         (('box AP', 'coco/bbox_mAP', True), ('mask AP', 'coco/segm_mAP', True)),
         _warmup_cosine_iters, 160, 30),
}


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


# ------------------------------------------------------------------------------- configs
def _replace_data_root(node, root: str):
    """Every string of the config that starts with the tiny configs' data root, re-rooted."""
    if isinstance(node, dict):
        return {k: _replace_data_root(v, root) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_data_root(v, root) for v in node)
    if isinstance(node, str) and node.startswith(CONFIG_DATA_ROOT):
        return osp.join(root, node[len(CONFIG_DATA_ROOT):])
    return node


def run_config(task: Task, stock: bool, args, work_dir: str) -> str:
    """Write the config of one training run into ``work_dir``; return its path."""
    from mmengine.config import Config

    from tcformer_mm.utils.launch import load_config
    from tcformer_mm.utils.stock import stock_counterpart
    length = args.length or (task.quick if args.quick else task.full)
    schedule = task.schedule(length)
    cfg = load_config(osp.join(ROOT, task.config), schedule)
    if stock:
        cfg = stock_counterpart(cfg, 'b1')
    data_root = osp.abspath(args.data_root) + '/'
    cfg = Config(_replace_data_root(cfg.to_dict(), data_root))
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is not None:
            loader.num_workers = 0
            loader.persistent_workers = False
    # Evaluations run apart (--evaluate); training only trains and saves the last checkpoint.
    cfg.train_cfg.val_interval = 10**9
    if args.seed is not None:
        cfg.randomness = dict(seed=args.seed)
    cfg.work_dir = work_dir
    path = osp.join(work_dir, 'config.py')
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(path)
    return path


def _last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def _iterations(work_dir: str) -> int:
    """Training iterations the run's logger saw (its last step)."""
    steps = [0]
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                steps += [json.loads(line).get('step', 0) for line in f if line.strip()]
    return max(steps)


def _run(cmd: List[str], log_path: str) -> float:
    """Run a command, its output to ``log_path``; the minutes it took. Exits on failure."""
    start = time.perf_counter()
    with open(log_path, 'w') as log:
        result = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise SystemExit(f'tiny_benchmark.py: {" ".join(cmd)} failed (log {log_path}):\n{tail}')
    return (time.perf_counter() - start) / 60


def evaluate_run(config: str, task_name: str, checkpoint: Optional[str], log_path: str) -> dict:
    """Metrics of a model (untrained without ``checkpoint``), from a fresh process."""
    from tcformer_mm.utils.rerun import json_result, rerun_command
    cmd = rerun_command(__file__, '--evaluate', config, '--task', task_name)
    if checkpoint:
        cmd += ['--checkpoint', checkpoint]
    _run(cmd, log_path)
    with open(log_path) as f:
        return json_result(f.read(), RESULT_MARK)


# ---------------------------------------------------------------------------- evaluation
def evaluate(args) -> None:
    """``--evaluate`` entry: test the config's model, print the metrics as JSON."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    import tcformer_mm  # noqa: F401  (registers our modules)
    task = TASKS[args.task]
    cfg = Config.fromfile(args.evaluate)
    name = 'trained' if args.checkpoint else 'untrained'
    cfg.work_dir = osp.join(osp.dirname(args.evaluate), f'eval_{name}')
    cfg.load_from = args.checkpoint
    preds = osp.join(cfg.work_dir, 'preds')
    if task.wholebody:
        cfg.test_evaluator.outfile_prefix = preds
    torch.manual_seed(0)
    runner = Runner.from_cfg(cfg)
    if not args.checkpoint:
        runner.model.init_weights()
    metrics = dict(runner.test())
    if not metrics:
        # mmdet's CocoMetric returns nothing when the model predicts no box at all: AP 0.
        metrics = {key: 0.0 for _, key, _ in task.metrics}
    if task.constant is not None and not args.checkpoint:
        constant = task.constant(runner.test_dataloader.dataset)
        metrics.update({f'constant/{k}': v for k, v in constant.items()})
    if task.wholebody:
        ann_file = cfg.test_evaluator.ann_file
        sigmas = runner.test_evaluator.metrics[0].dataset_meta['sigmas']
        metrics.update(wholebody_part_aps(ann_file, preds + '.keypoints.json', sigmas))
        if hasattr(runner.model.backbone, 'ctm1'):
            picture = osp.join(osp.dirname(args.evaluate), f'tokens_{name}.jpg')
            if osp.exists(picture):
                os.remove(picture)
            metrics.update(wholebody_concentration(runner, ann_file, picture))
    print(RESULT_MARK + json.dumps({k: float(v) for k, v in metrics.items()}), flush=True)


def wholebody_part_aps(ann_file: str, preds: str, sigmas) -> Dict[str, float]:
    """AP of every whole-body part, as ``CocoWholeBodyMetric`` computes them."""
    import numpy as np
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval
    gt = COCO(ann_file)
    dt = gt.loadRes(preds)
    cuts = np.cumsum([0] + [n for _, n in WHOLEBODY_PARTS])
    aps = {}
    for i, (part, _) in enumerate(WHOLEBODY_PARTS):
        coco_eval = COCOeval(gt,
                             dt,
                             f'keypoints_{part}',
                             np.asarray(sigmas)[cuts[i]:cuts[i + 1]],
                             use_area=True)
        coco_eval.params.useSegm = None
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
        aps[f'{part}_AP'] = float(coco_eval.stats[0])
    return aps


def _box_mask(box, height: int, width: int):
    import numpy as np
    mask = np.zeros((height, width), np.float32)
    x, y, w, h = (int(round(v)) for v in box)
    mask[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = 1
    return mask


def wholebody_concentration(runner, ann_file: str, picture: str) -> Dict[str, float]:
    """Mean token concentration of every backbone stage on the figure, the face and the hands
    of the validation set (regions warped into each input as its image was); the token
    pictures of the first validation input (``token_pictures``' summary) go to ``picture``."""
    import cv2
    import numpy as np
    import torch
    from mmpose.structures.bbox import get_warp_matrix
    from pycocotools import mask as mask_utils
    from xtcocotools.coco import COCO

    from tcformer_mm.analysis.token_concentration import region_on_grid, token_concentration
    from tcformer_mm.visualization import token_pictures
    coco = COCO(ann_file)
    model = runner.model.eval()
    ratios: Dict[str, List[list]] = {}
    for data in runner.test_dataloader:
        data = model.data_preprocessor(data, False)
        with torch.no_grad():
            stages = model.backbone(data['inputs'])
        regions = {'figure': [], 'face': [], 'hands': []}
        for sample in data['data_samples']:
            ann = coco.anns[sample.metainfo['id']]
            image = coco.imgs[ann['image_id']]
            h, w = image['height'], image['width']
            rle = dict(ann['segmentation'], counts=ann['segmentation']['counts'].encode())
            masks = {
                'figure':
                mask_utils.decode(rle).astype(np.float32),
                'face':
                _box_mask(ann['face_box'], h, w),
                'hands':
                np.maximum(_box_mask(ann['lefthand_box'], h, w),
                           _box_mask(ann['righthand_box'], h, w)),
            }
            in_w, in_h = sample.metainfo['input_size']
            warp = get_warp_matrix(sample.metainfo['input_center'], sample.metainfo['input_scale'],
                                   0, (in_w, in_h))
            for name, mask in masks.items():
                regions[name].append(
                    torch.from_numpy(
                        cv2.warpAffine(mask, warp, (int(in_w), int(in_h)), flags=cv2.INTER_LINEAR)))
            if not osp.exists(picture):
                image = cv2.warpAffine(cv2.imread(sample.metainfo['img_path']),
                                       warp, (int(in_w), int(in_h)),
                                       flags=cv2.INTER_LINEAR)
                summary = token_pictures(image[..., ::-1].copy(), stages)['summary']
                cv2.imwrite(picture, summary[..., ::-1])
        for name, masks in regions.items():
            for s, tokens in enumerate(stages):
                grid = region_on_grid(torch.stack(masks), tokens.init_grid_size)
                ratios.setdefault(name, [[] for _ in stages])[s] += \
                    token_concentration(tokens, grid).tolist()
    return {
        f'concentration/{name}/stage{s + 1}': float(np.nanmean(values))
        for name, per_stage in ratios.items()
        for s, values in enumerate(per_stage)
    }


# --------------------------------------------------------------------------------- table
def _pick(metrics: Optional[dict], key: str) -> Optional[float]:
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


def _fmt(value: Optional[float]) -> str:
    if value is None:
        return '-'
    return f'{value:.1f}' if abs(value) >= 10 else f'{value:.3f}'


def table(results: dict) -> str:
    lines = [
        '| task | metric | TCFormer | stock | stock model | untrained TCFormer | best constant | '
        'iterations | minutes (TCFormer / stock) |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for name, r in results.items():
        task = TASKS[name]
        minutes = f'{r["minutes"]["tcformer"]:.1f} / ' + (
            f'{r["minutes"]["stock"]:.1f}' if r['minutes'].get('stock') is not None else '-')
        for label, key, higher in task.metrics:
            arrow = '' if higher else ' (lower is better)'
            lines.append(f'| {name} | {label}{arrow} | {_fmt(_pick(r["tcformer"], key))} | '
                         f'{_fmt(_pick(r["stock"], key))} | {task.stock} | '
                         f'{_fmt(_pick(r["untrained"], key))} | '
                         f'{_fmt(_pick(r["untrained"], "constant/" + key))} | '
                         f'{r["iterations"]} | {minutes} |')
        if task.wholebody:
            for region in ('figure', 'face', 'hands'):
                for s in range(1, 5):
                    key = f'concentration/{region}/stage{s}'
                    lines.append(f'| {name} | token concentration on the {region}, stage {s} | '
                                 f'{_fmt(_pick(r["tcformer"], key))} | - | | '
                                 f'{_fmt(_pick(r["untrained"], key))} | | | |')
    return '\n'.join(lines) + '\n'


def benchmark(args) -> None:
    tasks = args.tasks or list(TASKS)
    out = args.out or osp.join(args.work_dir, 'results.md')
    results = {}
    for name in tasks:
        task = TASKS[name]
        result = dict(minutes={}, stock=None)
        for model in ('tcformer', 'stock'):
            if model == 'stock' and args.no_stock:
                continue
            work_dir = osp.abspath(osp.join(args.work_dir, name, model))
            config = run_config(task, model == 'stock', args, work_dir)
            print(f'[{name}] training {model} ...', flush=True)
            result['minutes'][model] = _run(
                [sys.executable, 'tools/train.py', config, '--work-dir', work_dir],
                osp.join(work_dir, 'train.log'))
            if model == 'tcformer':
                result['iterations'] = _iterations(work_dir)
            print(f'[{name}] evaluating {model} ...', flush=True)
            result[model] = evaluate_run(config, name, _last_checkpoint(work_dir),
                                         osp.join(work_dir, 'eval_trained.log'))
            if model == 'tcformer':
                result['untrained'] = evaluate_run(config, name, None,
                                                   osp.join(work_dir, 'eval_untrained.log'))
        results[name] = result
    text = table(results)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(text)
    with open(osp.splitext(out)[0] + '.json', 'w') as f:
        json.dump(results, f, indent=1)
    print(text)
    print(f'written: {out}')


def main(argv=None):
    args = parse_args(argv)
    if args.evaluate:
        evaluate(args)
    else:
        benchmark(args)


if __name__ == '__main__':
    main()
