"""A checkpoint whose pickle runs a command never runs it, at any entry point that loads a file,
unless the user opts in (``--trust-checkpoint`` / ``TCFORMER_TRUST_CHECKPOINTS=1``)."""
import functools
import http.server
import threading

import pytest
import torch
from conftest import data_root_options, run_tool
from helpers.checkpoints import write_evil
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

import tcformer_mm  # noqa: F401  installs the loader
from tcformer_mm.checkpoint import UntrustedCheckpointError, load_checkpoint_file
from tcformer_mm.models import TCFormer

CONFIG = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'
POSE_CONFIG = 'configs/tiny/td-hm_tcformerv2-t-crmta_1xb8_tiny-coco-wholebody-96x72.py'


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    write_evil(path, marker)
    yield path, marker
    assert not marker.exists(), 'the checkpoint ran its command'


def refused(path):
    return pytest.raises(UntrustedCheckpointError,
                         match=f'{path} holds Python objects of '
                         'posix.system.*--trust-checkpoint.*TCFORMER_TRUST_CHECKPOINTS=1')


def test_loader_refuses(evil):
    path, _ = evil
    with refused(path):
        load_checkpoint_file(str(path))


def test_loader_refuses_the_legacy_format(tmp_path):
    marker, path = tmp_path / 'marker', tmp_path / 'legacy.pth'
    write_evil(path, marker, legacy=True)
    with refused(path):
        load_checkpoint_file(str(path))
    assert not marker.exists()


def test_mmengine_load_checkpoint_refuses(evil):
    path, _ = evil
    with refused(path):
        load_checkpoint(torch.nn.Linear(2, 2), str(path))
    with refused(path):
        CheckpointLoader.load_checkpoint(str(path))


def test_pretrained_init_cfg_refuses(evil):
    path, _ = evil
    backbone = TCFormer(arch='v2-tiny', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with refused(path):
        backbone.init_weights()


def test_url_refused_and_weights_load(evil, tmp_path, monkeypatch):
    """http(s) checkpoints (mmengine alone unpickles them in full) go through the same loader;
    the download is cached in torch's hub directory."""
    path, _ = evil
    torch.save({'state_dict': {
        'weight': torch.ones(2, 2),
        'bias': torch.zeros(2)
    }}, tmp_path / 'good.pth')
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f'http://127.0.0.1:{server.server_address[1]}'
        with pytest.raises(UntrustedCheckpointError,
                           match='evil.pth holds Python objects of '
                           'posix.system'):
            load_checkpoint(torch.nn.Linear(2, 2), f'{url}/evil.pth')
        model = torch.nn.Linear(2, 2)
        load_checkpoint(model, f'{url}/good.pth')
        assert torch.equal(model.weight, torch.ones(2, 2))
        assert (tmp_path / 'hub' / 'checkpoints' / 'good.pth').is_file()
    finally:
        server.shutdown()


def test_environment_opt_in_runs_it(evil, monkeypatch):
    """What the refusal protects from (so that the tests above can fail)."""
    path, marker = evil
    monkeypatch.setenv('TCFORMER_TRUST_CHECKPOINTS', '1')
    with pytest.warns(UserWarning, match='unpickled in full.*posix.system'):
        checkpoint = load_checkpoint_file(str(path))
    assert checkpoint['meta']['note'] == 0 and marker.exists()
    marker.unlink()


def test_environment_variable_value_checked(evil, monkeypatch):
    path, _ = evil
    monkeypatch.setenv('TCFORMER_TRUST_CHECKPOINTS', 'yes')
    with pytest.raises(ValueError, match="TCFORMER_TRUST_CHECKPOINTS must be 1 .* got 'yes'"):
        load_checkpoint_file(str(path))


def _image(tmp_path):
    import cv2
    import numpy as np
    path = tmp_path / 'image.png'
    cv2.imwrite(str(path), np.full((64, 64, 3), 128, np.uint8))
    return path


#: (id, arguments as a function of (checkpoint, tmp_path, tiny data root), expected exit status)
TOOLS = [
    ('tools/test.py', lambda c, t, d:
     ['tools/test.py', CONFIG, c, '--work-dir', t / 'w', '--cfg-options', *data_root_options(d)],
     2),
    ('tools/train.py --resume', lambda c, t, d: [
        'tools/train.py', CONFIG, '--resume', c, '--work-dir', t / 'w', '--cfg-options',
        *data_root_options(d)
    ], 2),
    ('tools/train.py load_from', lambda c, t, d: [
        'tools/train.py', CONFIG, '--work-dir', t / 'w', '--cfg-options', f'load_from={c}',
        *data_root_options(d)
    ], 2),
    ('tcformer2mmpretrain.py',
     lambda c, t, d: ['tools/model_converters/tcformer2mmpretrain.py', c, t / 'out.pth'], 1),
    ('tcformer_pose2mmpose.py',
     lambda c, t, d: ['tools/model_converters/tcformer_pose2mmpose.py', c, t / 'out.pth'], 1),
    ('vis_tokens.py', lambda c, t, d:
     ['tools/visualization/vis_tokens.py', CONFIG, c,
      _image(t), '--out-dir', t / 'vis'], 1),
    ('pytorch2onnx.py',
     lambda c, t, d: ['tools/deployment/pytorch2onnx.py', POSE_CONFIG, c, '--out', t / 'm.onnx'],
     1),
]


@pytest.mark.parametrize('args,status', [c[1:] for c in TOOLS], ids=[c[0] for c in TOOLS])
def test_tool_refuses(evil, tmp_path, tiny_data, args, status):
    path, _ = evil
    result = run_tool([str(a) for a in args(path, tmp_path, tiny_data / 'imagenet')], check=False)
    assert result.returncode == status, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert f'{path} holds Python objects of posix.system' in last
    assert '--trust-checkpoint' in last


def test_tool_opt_in_runs_it(evil, tmp_path):
    """--trust-checkpoint does unpickle in full (the file's command runs)."""
    path, marker = evil
    run_tool([
        'tools/model_converters/tcformer2mmpretrain.py', path, tmp_path / 'out.pth',
        '--trust-checkpoint'
    ],
             check=False)
    assert marker.exists()
    marker.unlink()
