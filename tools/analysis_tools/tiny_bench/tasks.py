"""The task table: which tiny config, which metrics, how long, which stock model, which constant
baseline."""
from typing import Callable, Dict, NamedTuple, Optional, Tuple

from .baselines import constant_miou, constant_top1


class Task(NamedTuple):
    """A row group of the benchmark.

    config: tiny config (from the repository root); metrics: (label, evaluator key, higher is
    better); schedule: the ``--cfg-options`` that set the training length (epochs or
    iterations) and stretch the config's learning-rate schedule to it; full / quick: the
    lengths of a full and a ``--quick`` run; wholebody: add the per-part APs and the token
    concentrations (``wholebody``); stock: the stock model (``tcformer_mm.utils.stock``);
    constant: the metrics of the best constant prediction, from the validation dataset.
    """
    config: str
    metrics: Tuple[Tuple[str, str, bool], ...]
    schedule: Callable[[int], Dict[str, object]]
    full: int
    quick: int
    wholebody: bool = False
    stock: str = 'PVTv2-B1'
    constant: Optional[Callable] = None

    def length(self, quick: bool, length: Optional[int] = None) -> int:
        """Training epochs or iterations: ``length`` if given, else the quick or full one."""
        return length or (self.quick if quick else self.full)


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


#: Whole-body metrics: mmpose's ``CocoWholeBodyMetric`` key, then the per-part APs it
#: evaluates (``wholebody.record_part_aps``).
_WHOLEBODY_METRICS = (
    ('whole-body AP', 'coco-wholebody/AP', True),
    ('body AP', 'body_AP', True),
    ('foot AP', 'foot_AP', True),
    ('face AP', 'face_AP', True),
    ('left-hand AP', 'lefthand_AP', True),
    ('right-hand AP', 'righthand_AP', True),
)


def _pose_task(config: str, metrics, full: int, **kwargs) -> Task:
    """A top-down pose task: epochs, a step down at three quarters, 2 epochs when quick."""
    return Task(config, metrics, _pose_epochs, full=full, quick=2, **kwargs)


def _ade_task(config: str) -> Task:
    """An ADE20K segmentation task: mIoU, poly schedule, one class everywhere as baseline."""
    return Task(config, (('mIoU', 'mIoU', True), ),
                _poly_iters,
                full=160,
                quick=20,
                constant=constant_miou)


TASKS = {
    'classification':
    Task('configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py', (('top-1 (%)', 'accuracy/top1', True), ),
         _cls_epochs,
         full=12,
         quick=2,
         stock='ResNet-18',
         constant=constant_top1),
    'wholebody':
    _pose_task('configs/tiny/td-hm_tcformerv2-t-crmta_1xb8_tiny-coco-wholebody-96x72.py',
               _WHOLEBODY_METRICS,
               32,
               wholebody=True),
    'rle':
    _pose_task('configs/tiny/td-reg_tcformerv2-t_rle-1xb8_tiny-coco-96x72.py',
               (('keypoint AP', 'coco/AP', True), ), 20),
    'wflw':
    _pose_task('configs/tiny/td-hm_tcformerv1-light_1xb8_tiny-wflw-64x64.py',
               (('NME', 'NME', False), ), 16),
    'semantic-fpn':
    _ade_task('configs/tiny/fpn_tcformerv2-tiny_crmta_1xb4_tiny-ade.py'),
    'mask2former':
    _ade_task('configs/tiny/mask2former_tcformerv2-tiny_crmta_1xb4_tiny-ade.py'),
    'retinanet':
    Task('configs/tiny/retinanet_tcformerv2-t_mta_1xb4_tiny-coco.py',
         (('box AP', 'coco/bbox_mAP', True), ),
         _warmup_iters,
         full=200,
         quick=20),
    'mask-rcnn':
    Task('configs/tiny/mask-rcnn_tcformerv2-t_mta_1xb4_tiny-coco.py',
         (('box AP', 'coco/bbox_mAP', True), ('mask AP', 'coco/segm_mAP', True)),
         _warmup_cosine_iters,
         full=160,
         quick=30),
}
