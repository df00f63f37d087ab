"""Released TCFormerV1 ImageNet checkpoints (synthetic, in the original layout) in the configs."""
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch
from helpers.classification import (CONFIG_DIR, ROOT, assert_init_cfg_loads_backbone,
                                    build_classifier, logits)
from mmengine.config import Config
from mmengine.runner import Runner

from tcformer_mm.checkpoint import ReleasedCheckpointHook
from tcformer_mm.checkpoint.names import to_released_names

CONFIG = CONFIG_DIR / 'tcformerv1-light_8xb128_in1k.py'
IMAGES = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def released_layout(model):
    """The original repository's file: backbone keys at the top, ``head.*``, training state."""
    state = OrderedDict()
    for key, value in to_released_names(model.state_dict(), 'backbone.').items():
        if key.startswith('backbone.'):
            state[key[len('backbone.'):]] = value.clone()
        else:
            assert key.startswith('head.fc.'), key
            state['head.' + key[len('head.fc.'):]] = value.clone()
    return dict(model=state,
                optimizer=dict(state={}, param_groups=[]),
                lr_scheduler={},
                epoch=299,
                scaler={})


@pytest.fixture(scope='module')
def released(tmp_path_factory):
    """(source classifier, path of its checkpoint in the released layout)."""
    torch.manual_seed(0)
    source = build_classifier(CONFIG)
    checkpoint = released_layout(source)
    assert len(checkpoint['model']) == len(source.state_dict())
    assert tuple(checkpoint['model']['head.weight'].shape) == (1000, 512)
    path = tmp_path_factory.mktemp('released') / 'tcformer_light.pth'
    torch.save(checkpoint, path)
    return source, path


def fresh_classifier(seed=1):
    torch.manual_seed(seed)
    return build_classifier(CONFIG)


def test_converter_writes_an_mmpretrain_checkpoint(released, tmp_path):
    source, path = released
    dst = tmp_path / 'tcformer_light_mmpretrain.pth'
    subprocess.run(
        [sys.executable, 'tools/model_converters/tcformer2mmpretrain.py',
         str(path),
         str(dst)],
        cwd=ROOT,
        check=True,
        capture_output=True)
    state_dict = torch.load(dst)['state_dict']
    target = fresh_classifier()
    assert not torch.equal(logits(target, IMAGES), logits(source, IMAGES))
    missing, unexpected = target.load_state_dict(state_dict, strict=False)
    assert missing == [] and unexpected == []
    assert torch.equal(logits(target, IMAGES), logits(source, IMAGES))


def test_runner_load_from_takes_the_released_file(released, tmp_path):
    """``load_from`` / tools/test.py: ReleasedCheckpointHook converts the file on load."""
    source, path = released
    cfg = Config.fromfile(str(CONFIG))
    cfg.work_dir = str(tmp_path)
    cfg.load_from = str(path)
    torch.manual_seed(1)
    runner = Runner.from_cfg(cfg)
    assert any(isinstance(h, ReleasedCheckpointHook) for h in runner.hooks)
    # strict: any missing or unexpected key would raise.
    runner.load_checkpoint(str(path), strict=True)
    assert torch.equal(logits(runner.model.eval(), IMAGES), logits(source, IMAGES))


def test_hook_leaves_other_checkpoints_alone():
    checkpoint = dict(state_dict={'backbone.patch_embed1.proj.weight': torch.zeros(1)}, meta={})
    ReleasedCheckpointHook().after_load_checkpoint(None, checkpoint)
    assert list(checkpoint['state_dict']) == ['backbone.patch_embed1.proj.weight']


def test_backbone_init_cfg_loads_the_backbone_only(released):
    source, path = released
    assert_init_cfg_loads_backbone(CONFIG, source, path)
