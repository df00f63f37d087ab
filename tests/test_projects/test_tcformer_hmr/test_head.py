import numpy as np
import pytest
import torch
from mmpose.registry import MODELS

from projects.tcformer_hmr.tcformer_hmr import HMRHead
from projects.tcformer_hmr.tcformer_hmr.rotation import (axis_angle_to_rotmat, rot6d_to_rotmat,
                                                         rotmat_to_rot6d)
from .synthetic import synthetic_files


def test_rot6d_round_trip_and_orthonormal():
    rot = axis_angle_to_rotmat(torch.randn(5, 24, 3))
    torch.testing.assert_close(rot6d_to_rotmat(rotmat_to_rot6d(rot)), rot, atol=1e-5, rtol=0)
    out = rot6d_to_rotmat(torch.randn(7, 6))
    torch.testing.assert_close(out @ out.transpose(1, 2),
                               torch.eye(3).expand(7, 3, 3),
                               atol=1e-5,
                               rtol=0)
    assert torch.allclose(torch.linalg.det(out), torch.ones(7), atol=1e-5)


def test_head_shapes_and_parameters():
    head = HMRHead(in_channels=512)
    head.init_weights()
    out = head((torch.randn(2, 64), torch.randn(2, 512)))
    assert out['pred_pose'].shape == (2, 24, 3, 3)
    assert out['pred_betas'].shape == (2, 10)
    assert out['pred_cam'].shape == (2, 3)
    # SPIN's regressor: fc1 (C + 144 + 10 + 3 -> 1024), fc2, decoders 144 / 10 / 3.
    expected = (512 + 157) * 1024 + 1024 + 1024 * 1024 + 1024 + 1025 * 157
    assert sum(p.numel() for p in head.parameters()) == expected
    with pytest.raises(ValueError, match=r'takes \(B, 512\) features'):
        head(torch.randn(2, 256))


def test_iterative_error_feedback_starts_from_the_mean(tmp_path):
    files = synthetic_files(tmp_path)
    head = HMRHead(in_channels=8, mean_params=files['mean_params'], dropout=0.).eval()
    head.init_weights()
    mean = np.load(files['mean_params'])
    for dec in (head.dec_pose, head.dec_shape, head.dec_cam):
        torch.nn.init.zeros_(dec.weight)
        torch.nn.init.zeros_(dec.bias)
    out = head(torch.randn(3, 8))
    rot, betas, cam = head.mean_estimate(3)
    torch.testing.assert_close(out['pred_pose'], rot)
    torch.testing.assert_close(out['pred_cam'],
                               torch.tensor(mean['cam'], dtype=torch.float32).expand(3, 3))
    # One correction per iteration: a constant bias is added num_iters times.
    torch.nn.init.constant_(head.dec_cam.bias, 0.1)
    out = head(torch.randn(3, 8))
    torch.testing.assert_close(out['pred_cam'][:, 0], torch.full((3, ), 0.9 + 3 * 0.1))
    # The decoders start small (Xavier, gain 0.01), so a fresh head predicts near the mean.
    fresh = MODELS.build(dict(type='HMRHead', in_channels=8, num_iters=3))
    fresh.init_weights()
    assert fresh.dec_pose.weight.abs().max() < 0.01


def test_default_mean_is_upright_and_errors(tmp_path):
    rot, betas, cam = HMRHead(in_channels=4).mean_estimate(1)
    torch.testing.assert_close(rot[0, 0], torch.diag(torch.tensor([1., -1., -1.])))
    torch.testing.assert_close(rot[0, 1:], torch.eye(3).expand(23, 3, 3))
    assert betas.abs().sum() == 0 and cam[0, 0] == 0.9
    with pytest.raises(FileNotFoundError, match=r'missing\.npz.*smpl_mean_params'):
        HMRHead(in_channels=4, mean_params=str(tmp_path / 'missing.npz'))
    np.savez(tmp_path / 'bad.npz', pose=np.zeros(144), shape=np.zeros(10))
    with pytest.raises(KeyError, match=r"bad\.npz.*\['cam'\]"):
        HMRHead(in_channels=4, mean_params=str(tmp_path / 'bad.npz'))
    with pytest.raises(ValueError, match='num_iters'):
        HMRHead(in_channels=4, num_iters=0)
