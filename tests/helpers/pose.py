"""Helpers shared by the mmpose tests."""
import json
from collections import OrderedDict
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import tcformer_mm  # noqa: F401  (registers the backbone, the necks and the hooks)
from tcformer_mm.checkpoint.names import to_released_names

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'pose' / 'tcformer'
TINY = {
    'wholebody': 'configs/tiny/td-hm_tcformerv2-t-crmta_1xb8_tiny-coco-wholebody-96x72.py',
    'rle': 'configs/tiny/td-reg_tcformerv2-t_rle-1xb8_tiny-coco-96x72.py',
    'wflw': 'configs/tiny/td-hm_tcformerv1-light_1xb8_tiny-wflw-64x64.py',
}
#: Tiny set folder and validation annotation file (for the COCO-style metrics) of each config.
TINY_DATA = {
    'wholebody': ('coco_wholebody', 'annotations/coco_wholebody_val_v1.0.json'),
    'rle': ('coco_kpt', 'annotations/person_keypoints_val2017.json'),
    'wflw': ('wflw', None),
}
NO_WORKERS = [
    f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
]


def build_pose_model(config, **model_overrides):
    """Build the ``TopdownPoseEstimator`` of ``config`` (a path), in eval mode, untrained."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(config))
    cfg.model.update(model_overrides)
    return MODELS.build(cfg.model).eval()


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def tiny_options(name, tiny_root):
    """``--cfg-options`` pointing the tiny config ``name`` at the generated data in tiny_root."""
    folder, ann = TINY_DATA[name]
    data_root = f'{tiny_root / folder}/'
    options = [
        f'{split}_dataloader.dataset.data_root={data_root}' for split in ('train', 'val', 'test')
    ]
    if ann is not None:
        options += [f'{split}_evaluator.ann_file={data_root}{ann}' for split in ('val', 'test')]
    return options + NO_WORKERS


def scalars(work_dir):
    """The json lines mmengine's logger wrote, in order."""
    [log] = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))[-1:]
    return [json.loads(line) for line in log.read_text().splitlines()]


def tensor_forward(model, height, width, batch=1):
    """The head's raw output for random images (``mode='tensor'``)."""
    with torch.no_grad():
        return model(torch.rand(batch, 3, height, width), None, mode='tensor')


def released_layout(state_dict, port=True):
    """Our state dict renamed to the released / mmpose 0.x keys (notes: official-checkpoints)."""
    released = OrderedDict()
    for key, value in to_released_names(state_dict, 'backbone.').items():
        if key.startswith('head.'):
            key = 'keypoint_head.' + key[len('head.'):]
        elif port and key.startswith('backbone.patch_embed1.proj.'):
            key = key.replace('patch_embed1.proj.', 'patch_embed1.projection.')
        released[key] = value.clone()
    return released
