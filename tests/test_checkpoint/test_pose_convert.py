"""The released whole-body checkpoints (mmpose 0.x layout) load into our mmpose 1.x models."""
from collections import OrderedDict

import pytest
import torch
from conftest import run_tool
from helpers.pose import CONFIG_DIR, build_pose_model, released_layout

from tcformer_mm.checkpoint import is_released_pose_checkpoint, tcformer_pose_convert

V1_CONFIG = CONFIG_DIR / 'td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py'


@pytest.fixture(scope='module')
def v1_model():
    torch.manual_seed(0)
    return build_pose_model(V1_CONFIG)


def test_our_modules_have_the_released_names(v1_model):
    keys = set(v1_model.state_dict())
    # Released MTA head: 1x1 lateral convs, 3 merge blocks with pooled keys (no sr conv),
    # 133-channel 1x1 final conv.
    for n in range(4):
        assert {f'neck.lateral_convs.{n}.conv.weight', f'neck.lateral_convs.{n}.conv.bias'} <= keys
    for n in range(3):
        assert {
            f'neck.merge_blocks.{n}.{k}'
            for k in ('norm1.weight', 'attn.q.weight', 'attn.kv.weight', 'attn.proj.weight',
                      'norm2.weight', 'mlp.fc1.weight', 'mlp.dwconv.weight', 'mlp.dwconv.bias',
                      'mlp.dwconv.skip.weight', 'mlp.fc2.weight')
        } <= keys
    assert 'neck.merge_blocks.3.norm1.weight' not in keys
    assert not any(k.startswith('neck.') and '.sr.' in k for k in keys)
    assert {k
            for k in keys
            if k.startswith('head.')} == {'head.final_layer.weight', 'head.final_layer.bias'}
    assert v1_model.head.final_layer.weight.shape == (133, 256, 1, 1)


@pytest.mark.parametrize('port', [False, True], ids=['original-release', 'mmpose0.x-port'])
def test_released_layout_loads_strictly(v1_model, tmp_path, port):
    ours = v1_model.state_dict()
    path = tmp_path / 'released.pth'
    torch.save({'state_dict': released_layout(ours, port), 'meta': {}}, path)
    checkpoint = torch.load(path, weights_only=True)
    assert is_released_pose_checkpoint(checkpoint)
    converted = tcformer_pose_convert(checkpoint)
    fresh = build_pose_model(V1_CONFIG)
    result = fresh.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, ours[key]), key
    # Our own checkpoints are not mistaken for released ones.
    assert not is_released_pose_checkpoint({'state_dict': ours})


def test_converter_tool(v1_model, tmp_path):
    src, dst = tmp_path / 'released.pth', tmp_path / 'converted.pth'
    # DataParallel-wrapped and with 0.x training leftovers.
    state_dict = OrderedDict(
        ('module.' + k, v) for k, v in released_layout(v1_model.state_dict()).items())
    torch.save({'state_dict': state_dict, 'optimizer': {}}, src)
    result = run_tool(['tools/model_converters/tcformer_pose2mmpose.py', str(src), str(dst)])
    assert f'{len(v1_model.state_dict())} keys written' in result.stdout
    converted = torch.load(dst, weights_only=True)['state_dict']
    assert set(converted) == set(v1_model.state_dict())


def test_not_a_pose_checkpoint():
    with pytest.raises(ValueError, match='no `backbone.` keys'):
        tcformer_pose_convert({'model': {'patch_embed1.proj.weight': torch.zeros(1)}})
