"""Helpers shared by the classification tests."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import tcformer_mm  # noqa: F401  (registers the backbone and the neck)

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'classification' / 'tcformer'
TINY_CONFIG = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'


def build_classifier(config, **backbone):
    """Build and initialise the classifier of ``config`` (a path), in eval mode."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(str(config))
    cfg.model.backbone.update(backbone)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def logits(model, images):
    """The classifier's raw class scores for ``images``."""
    with torch.no_grad():
        return model(images, mode='tensor')


def assert_init_cfg_loads_backbone(config, source, path):
    """A classifier built with ``init_cfg=Pretrained(path)`` has ``source``'s backbone and its
    own (freshly initialised) head."""
    torch.manual_seed(1)
    target = build_classifier(config, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(target.backbone.state_dict()[key], value), key
    assert not torch.equal(target.head.fc.weight, source.head.fc.weight)
