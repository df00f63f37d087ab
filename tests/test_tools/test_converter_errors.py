"""Bad input to the model converters, vis_tokens.py and pytorch2onnx.py: one line naming it.

Every case runs the tool on small generated files and expects a non-zero exit, a message in the
last line of stderr and no traceback.
"""
import logging
from collections import OrderedDict

import cv2
import numpy as np
import pytest
import torch
import torchvision
from conftest import load_script, run_tool
from mmengine.logging import MessageHub, MMLogger

from tcformer_mm.checkpoint.convert import check_released_classifier, checkpoint_state_dict
from tcformer_mm.checkpoint.names import to_released_names
from tcformer_mm.checkpoint.pose import check_released_pose_checkpoint
from tcformer_mm.models import TCFormer

CLS = 'tools/model_converters/tcformer2mmpretrain.py'
POSE = 'tools/model_converters/tcformer_pose2mmpose.py'
VIS = 'tools/visualization/vis_tokens.py'
ONNX = 'tools/deployment/pytorch2onnx.py'
TINY_CONFIG = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'
NO_BACKBONE = 'has no TCFormer backbone keys (patch_embed1.proj.weight, block1.0..., ctm1...); ' \
    'found keys like conv1.weight, bn1.weight, layer1.0..., layer2.0...'


def released_classification(backbone):
    state = to_released_names(backbone)
    state['head.weight'] = torch.randn(4, 512)
    state['head.bias'] = torch.randn(4)
    return dict(model=state, optimizer=dict(state={}, param_groups=[]), epoch=299)


def mmpretrain_layout(backbone):
    state = OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    state['head.fc.weight'] = torch.randn(4, 512)
    state['head.fc.bias'] = torch.randn(4)
    return state


def mmpose_layouts(backbone):
    """(mmpose 0.x file as released, mmpose 1.x file as written by our runner)."""
    new = OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    new['neck.lateral_convs.0.conv.weight'] = torch.randn(256, 64, 1, 1)
    new['head.final_layer.weight'] = torch.randn(133, 256, 1, 1)
    old = OrderedDict((k.replace('head.', 'keypoint_head.', 1) if k.startswith('head.') else k, v)
                      for k, v in to_released_names(new, 'backbone.').items())
    return dict(state_dict=old, meta={}), dict(state_dict=new, meta={})


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """Paths of the generated inputs, by name."""
    out = tmp_path_factory.mktemp('inputs')
    paths = dict(notes=str(out / 'notes.txt'),
                 image=str(out / 'image.png'),
                 folder=str(out / 'folder'),
                 missing=str(out / 'missing.pth'),
                 out=str(out / 'out'))

    def save(name, content):
        paths[name] = str(out / f'{name}.pth')
        torch.save(content, paths[name])

    torch.manual_seed(0)
    light = TCFormer(arch='v1-light').state_dict()
    save('resnet18', torchvision.models.resnet18().state_dict())
    save('released_cls', released_classification(light))
    save('mmpretrain', mmpretrain_layout(light))
    # A runner checkpoint: its message hub needs more than a weights-only load.
    hub = MessageHub.get_instance('converter_errors')
    hub.update_scalar('train/loss', 1.0)
    save(
        'runner',
        dict(meta=dict(epoch=1),
             state_dict=mmpretrain_layout(light),
             message_hub=hub.state_dict(),
             optimizer={}))
    pose_old, pose_new = mmpose_layouts(light)
    save('pose_mmpose0', pose_old)
    save('pose_mmpose1', pose_new)
    # Same stages, one block each and other widths: does not fit v2-tiny.
    small = dict(TCFormer.arch_zoo['v1-light'], embed_dims=[16, 32, 80, 128], depths=[1, 1, 1, 1])
    save('small', TCFormer(arch=small).state_dict())
    save('tensor', torch.zeros(3))
    tiny = TCFormer(arch='v2-tiny').state_dict()
    tiny['stages.3.norm.weight'][0] = float('nan')
    save('nan_backbone', tiny)
    (out / 'notes.txt').write_text('these are notes, not weights\n')
    image = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    cv2.imwrite(paths['image'], image)
    (out / 'folder').mkdir()
    return paths


def case(case_id, tool, args, expected):
    """A table row: ``{name}`` in ``args`` stands for the path of the generated file ``name``."""
    return pytest.param(tool, args, expected, id=case_id)


VIS_OUT = ['--out-dir', '{out}']
ONNX_OUT = ['--out', '{out}.onnx']
#: (id, tool, arguments, expected part of the last line of stderr)
CASES = [
    case('cls-not-tcformer', CLS, ['{resnet18}', '{out}'], NO_BACKBONE),
    case('cls-mmpretrain-layout', CLS, ['{mmpretrain}', '{out}'],
         'is already in the mmpretrain layout (backbone.*, head.fc.*): nothing to convert'),
    case('cls-runner-checkpoint', CLS, ['{runner}', '{out}'],
         'runner.pth is already in the mmpretrain layout'),
    case('cls-missing-file', CLS, ['{missing}', '{out}'], 'checkpoint file not found: '),
    case('cls-not-a-checkpoint', CLS, ['{notes}', '{out}'],
         'notes.txt is not a PyTorch checkpoint'),
    case('cls-saved-tensor', CLS, ['{tensor}', '{out}'],
         'tensor.pth holds a Tensor, not a checkpoint (a dict of tensors)'),
    case('cls-dst-is-a-directory', CLS, ['{released_cls}', '{folder}'],
         'folder is a directory; give the path of the output file'),
    case('pose-not-tcformer', POSE, ['{resnet18}', '{out}'],
         'has no TCFormer backbone keys (backbone.patch_embed1.proj.weight, '),
    case('pose-mmpose1-layout', POSE, ['{pose_mmpose1}', '{out}'],
         'is already in the mmpose 1.x layout (backbone.*, neck.*, head.*): nothing to convert'),
    case('pose-classification-checkpoint', POSE, ['{released_cls}', '{out}'],
         'is a TCFormer classification checkpoint (backbone keys at the top level), not a pose'),
    case('pose-mmpretrain-layout', POSE, ['{mmpretrain}', '{out}'],
         'is an mmpretrain classifier (backbone.*, head.fc.*), not a pose checkpoint'),
    case('pose-missing-file', POSE, ['{missing}', '{out}'], 'checkpoint file not found: '),
    case('pose-not-a-checkpoint', POSE, ['{notes}', '{out}'],
         'notes.txt is not a PyTorch checkpoint'),
    case('vis-not-an-image', VIS, [TINY_CONFIG, '{notes}', *VIS_OUT],
         'notes.txt is not an image file OpenCV can read'),
    case('vis-missing-image', VIS, [TINY_CONFIG, '{missing}', *VIS_OUT], 'image not found: '),
    case('vis-not-tcformer', VIS, [TINY_CONFIG, '{resnet18}', '{image}', *VIS_OUT], NO_BACKBONE),
    case('vis-wrong-arch', VIS, [TINY_CONFIG, '{small}', '{image}', *VIS_OUT],
         'depths [1, 1, 1, 1] in the checkpoint, [2, 2, 2, 2] in the model: choose the matching'),
    case('vis-non-finite-weights', VIS, [TINY_CONFIG, '{nan_backbone}', '{image}', *VIS_OUT],
         'nan_backbone.pth: 1 weight tensors hold NaN or Inf (stages.3.norm.weight)'),
    case('vis-not-a-config', VIS, ['{notes}', '{image}', *VIS_OUT], 'cannot load the config '),
    case('onnx-missing-config', ONNX, ['{missing}.py', *ONNX_OUT], 'config file not found: '),
    case('onnx-missing-checkpoint', ONNX, [TINY_CONFIG, '{missing}', *ONNX_OUT],
         'checkpoint file not found: '),
    case('onnx-not-tcformer', ONNX, [TINY_CONFIG, '{resnet18}', *ONNX_OUT], NO_BACKBONE),
    case('onnx-wrong-arch', ONNX, [TINY_CONFIG, '{small}', '--backbone-only', *ONNX_OUT],
         f'small.pth does not fit the backbone of {TINY_CONFIG}: 79 missing keys'),
    case('onnx-shape-too-small', ONNX, [TINY_CONFIG, '--shape', '16', '16', *ONNX_OUT],
         '--shape 16 16 is too small: stage 1 works on a 4x4 token map'),
    case('onnx-shape-not-positive', ONNX, [TINY_CONFIG, '--shape', '0', '64', *ONNX_OUT],
         '--shape H W must be positive, got 0 64'),
]


@pytest.mark.parametrize('tool,args,expected', CASES)
def test_bad_input_is_named(files, tool, args, expected):
    result = run_tool([tool, *[a.format(**files) for a in args]], check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout[-2000:]
    assert lines and 'Traceback' not in result.stderr, result.stderr[-3000:]
    name = tool.split('/')[-1]
    assert lines[-1].startswith(f'{name}: ') and expected in lines[-1], lines[-1]
    # No start-up noise: setuptools' pkg_resources warning, mmengine's init_weights dump.
    assert 'pkg_resources' not in result.stderr
    assert 'Initialized by' not in result.stdout


def test_released_layouts_pass_the_checks(files):
    for name in ('released_cls', 'pose_mmpose0'):
        check_released_classifier(torch.load(files[name]), source=name)
    pose = torch.load(files['pose_mmpose0'])
    check_released_pose_checkpoint(pose, source='pose')
    # DistributedDataParallel's 'module.' prefix.
    wrapped = {'module.' + k: v for k, v in pose['state_dict'].items()}
    check_released_pose_checkpoint({'state_dict': wrapped})
    assert list(checkpoint_state_dict(wrapped)) == list(pose['state_dict'])


class Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_onnx_build_logs_no_init_dump(tmp_path):
    """mmengine logs one INFO entry per parameter in ``init_weights``; the tool keeps them out
    of the console, not the warnings."""
    tool = load_script('tools/deployment/pytorch2onnx.py')
    logger = MMLogger.get_current_instance()
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # as in a tool run, where the dump showed
    try:
        torch.manual_seed(0)
        model = tool.build_model(TINY_CONFIG)
        path = tmp_path / 'tiny.pth'
        torch.save(dict(state_dict=model.state_dict(), meta={}), path)
        loaded = tool.build_model(TINY_CONFIG, str(path))
        assert not [r for r in handler.records if r.levelno < logging.WARNING]
        tool.init_weights_quietly(model)  # a second call: mmengine warns
        assert any('more than once' in r.getMessage() for r in handler.records)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
