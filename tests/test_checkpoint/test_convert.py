"""Loading the released checkpoint layouts (synthetic state dicts with the released keys)."""
import os
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch

from tcformer_mm.checkpoint import load_converted_state_dict, tcformer_convert
from tcformer_mm.checkpoint.names import to_released_names
from tcformer_mm.models import TCFormer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X = torch.randn(1, 3, 64, 64)


def build(arch='v1-light', **kwargs):
    model = TCFormer(arch, drop_path_rate=0., **kwargs)
    model.init_weights()
    return model.eval()


def released_classification(model):
    """The original repository's layout: {'model': backbone keys + head.*, 'optimizer': ...}."""
    state = to_released_names(model.state_dict())
    state['head.weight'] = torch.randn(1000, 512)
    state['head.bias'] = torch.randn(1000)
    return dict(model=state,
                optimizer=dict(state={}, param_groups=[]),
                lr_scheduler={},
                epoch=299,
                scaler={})


def released_mmpose(model):
    """mmpose 0.x layout: 'state_dict', 'backbone.' prefix, patch_embed1.projection, neck."""
    state = OrderedDict()
    for key, value in to_released_names(model.state_dict()).items():
        state['backbone.' + key.replace('patch_embed1.proj.', 'patch_embed1.projection.')] = value
    state['neck.lateral_convs.0.conv.weight'] = torch.randn(256, 64, 1, 1)
    state['keypoint_head.final_layer.weight'] = torch.randn(133, 256, 1, 1)
    return dict(state_dict=state, meta=dict(epoch=210))


def outputs(model):
    with torch.no_grad():
        return [o.x for o in model(X)]


@pytest.mark.parametrize('layout', [released_classification, released_mmpose])
def test_round_trip(layout):
    torch.manual_seed(0)
    source = build()
    checkpoint = layout(source)
    converted = tcformer_convert(checkpoint)
    assert 'stages.0.downsample.proj.weight' in converted
    assert not any(
        k.startswith(('head.', 'neck.', 'keypoint_head.', 'backbone.')) for k in converted)
    torch.manual_seed(1)
    target = build()
    missing, unexpected = target.load_state_dict(converted, strict=False)
    assert missing == [] and unexpected == []
    for a, b in zip(outputs(source), outputs(target)):
        assert torch.equal(a, b)
    assert 'head.weight' in tcformer_convert(released_classification(source), keep_head=True)


@pytest.mark.parametrize('layout', [released_classification, released_mmpose])
def test_init_cfg_pretrained(tmp_path, layout):
    torch.manual_seed(0)
    source = build()
    path = str(tmp_path / 'released.pth')
    torch.save(layout(source), path)
    torch.manual_seed(1)
    target = build(init_cfg=dict(type='Pretrained', checkpoint=path))
    for a, b in zip(outputs(source), outputs(target)):
        assert torch.equal(a, b)


def test_wrong_architecture_is_an_error(tmp_path):
    path = str(tmp_path / 'light.pth')
    torch.save(released_classification(build('v1-light')), path)
    with pytest.raises(RuntimeError) as err:
        build('v1', init_cfg=dict(type='Pretrained', checkpoint=path))
    message = str(err.value)
    assert 'missing keys' in message and 'stages.0.blocks.2.norm1.weight' in message
    assert 'depths [2, 2, 2, 2], the model [3, 4, 6, 3]' in message

    narrow = dict(TCFormer.arch_zoo['v1-light'], embed_dims=[32, 128, 320, 512])
    model = TCFormer(narrow)
    with pytest.raises(RuntimeError, match='shape mismatches') as err:
        load_converted_state_dict(model, tcformer_convert(torch.load(path)), source=path)
    assert 'stages.0.downsample.proj.weight: (64, 3, 7, 7) vs (32, 3, 7, 7)' in str(err.value)


def test_missing_file_names_the_path(tmp_path):
    path = str(tmp_path / 'nowhere.pth')
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        build(init_cfg=dict(type='Pretrained', checkpoint=path))


def test_standalone_converter(tmp_path):
    torch.manual_seed(0)
    source = build()
    src, dst = str(tmp_path / 'released.pth'), str(tmp_path / 'out' / 'converted.pth')
    torch.save(released_classification(source), src)
    script = os.path.join(ROOT, 'tools', 'model_converters', 'tcformer2mmpretrain.py')
    subprocess.run([sys.executable, script, src, dst], check=True, capture_output=True)
    state = torch.load(dst)['state_dict']
    assert 'backbone.stages.0.downsample.proj.weight' in state and 'head.fc.weight' in state
    target = build(init_cfg=dict(type='Pretrained', checkpoint=dst))
    for a, b in zip(outputs(source), outputs(target)):
        assert torch.equal(a, b)

    result = subprocess.run(
        [sys.executable, script, str(tmp_path / 'missing.pth'), dst],
        capture_output=True,
        text=True)
    assert result.returncode != 0 and 'missing.pth' in result.stderr
