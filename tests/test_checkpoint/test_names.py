"""The released flat module names against the keys of TCFormer's stages, and checkpoints with
the flat names (released ones, and this package's from before the stage modules) loading."""
import pytest
import torch
from helpers.classification import (CONFIG_DIR, assert_init_cfg_loads_backbone, build_classifier,
                                    logits)
from mmengine.config import Config
from mmengine.runner import Runner

from tcformer_mm.checkpoint.names import released_key, stage_key, to_released_names, to_stage_names
from tcformer_mm.engine import StrictLoadHook
from tcformer_mm.models import TCFormer

CONFIG = CONFIG_DIR / 'tcformerv1-light_8xb128_in1k.py'
IMAGES = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))

MAPPING = [
    ('patch_embed1.proj.weight', 'stages.0.downsample.proj.weight'),
    ('patch_embed1.norm.bias', 'stages.0.downsample.norm.bias'),
    ('block1.0.norm1.weight', 'stages.0.blocks.0.norm1.weight'),
    ('block1.1.attn.sr.weight', 'stages.0.blocks.1.attn.sr.weight'),
    ('norm1.weight', 'stages.0.norm.weight'),
    ('ctm1.conv.skip.weight', 'stages.1.downsample.conv.skip.weight'),
    ('ctm1.norm.weight', 'stages.1.downsample.norm.weight'),
    ('ctm3.score.bias', 'stages.3.downsample.score.bias'),
    ('block4.2.mlp.dwconv.skip.weight', 'stages.3.blocks.2.mlp.dwconv.skip.weight'),
    ('norm4.bias', 'stages.3.norm.bias'),
]


@pytest.mark.parametrize('released,ours', MAPPING)
def test_key_mapping(released, ours):
    assert stage_key(released) == ours
    assert released_key(ours) == released


@pytest.mark.parametrize('key', [
    'head.weight', 'neck.merge_blocks.0.norm1.weight', 'stages', 'ctm4.score.weight',
    'block12.0.norm1.weight'
])
def test_other_keys_unchanged(key):
    assert stage_key(key) == key and released_key(key) == key


def test_prefixes_and_patch_embeddings():
    state = {
        'backbone.patch_embed1.projection.weight': 0,
        'backbone.patch_embed2.proj.weight': 1,
        'backbone.patch_embed2.norm.weight': 2,
        'neck.norm1.weight': 3,
        'norm1.weight': 4,
    }
    renamed = to_stage_names(state, 'backbone.')
    assert list(renamed) == [
        'backbone.stages.0.downsample.projection.weight',
        'backbone.stages.1.downsample.proj.weight', 'backbone.stages.1.downsample.norm.weight',
        'neck.norm1.weight', 'norm1.weight'
    ]
    # Without a projection, stage 1's ``downsample.norm`` would be the CTM's.
    assert to_released_names(renamed, 'backbone.') == state


@pytest.mark.parametrize('use_ctm', [True, False])
def test_round_trip_and_parameter_order(use_ctm):
    """The parameters come in the released order: an optimizer state (indexed by position)
    of a checkpoint with the flat names resumes onto the same parameters."""
    model = TCFormer('v1-light', use_ctm=use_ctm)
    released = to_released_names(dict(model.named_parameters()))
    assert list(to_stage_names(released)) == list(dict(model.named_parameters()))
    order = list(dict.fromkeys(k.split('.')[0] for k in released))
    down = [f'ctm{i}' if use_ctm else f'patch_embed{i + 1}' for i in (1, 2, 3)]
    assert order == ['patch_embed1', 'block1', 'norm1'] + [
        name for i in (1, 2, 3) for name in (down[i - 1], f'block{i + 1}', f'norm{i + 1}')
    ]


def test_flat_names_load_strictly():
    torch.manual_seed(0)
    source = TCFormer('v1-light').eval()
    torch.manual_seed(1)
    target = TCFormer('v1-light').eval()
    result = target.load_state_dict(to_released_names(source.state_dict()), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


@pytest.fixture(scope='module')
def old_checkpoint(tmp_path_factory):
    """(source classifier, an mmengine checkpoint of it with the flat backbone names)."""
    torch.manual_seed(0)
    source = build_classifier(CONFIG)
    state_dict = to_released_names(source.state_dict(), 'backbone.')
    assert 'backbone.block1.0.norm1.weight' in state_dict
    path = tmp_path_factory.mktemp('old') / 'epoch_1.pth'
    torch.save(dict(state_dict=state_dict, meta=dict(epoch=1)), path)
    return source, path


def test_runner_loads_old_names_strictly(old_checkpoint, tmp_path):
    """``load_from`` / ``--resume`` / tools/test.py load the model through the runner, with
    StrictLoadHook refusing a checkpoint whose keys do not fit."""
    source, path = old_checkpoint
    cfg = Config.fromfile(str(CONFIG))
    cfg.work_dir = str(tmp_path)
    cfg.load_from = str(path)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='StrictLoadHook')]
    torch.manual_seed(1)
    runner = Runner.from_cfg(cfg)
    assert any(isinstance(h, StrictLoadHook) for h in runner.hooks)
    assert not torch.equal(logits(runner.model.eval(), IMAGES), logits(source, IMAGES))
    runner.load_checkpoint(str(path), strict=True)
    assert torch.equal(logits(runner.model.eval(), IMAGES), logits(source, IMAGES))


def test_backbone_init_cfg_loads_old_names(old_checkpoint):
    source, path = old_checkpoint
    assert_init_cfg_loads_backbone(CONFIG, source, path)
