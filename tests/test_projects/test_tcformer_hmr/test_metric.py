import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement
from mmpose.registry import METRICS

from projects.tcformer_hmr.tcformer_hmr.rotation import axis_angle_to_rotmat
from .synthetic import body_model_cfg, build_body_model, synthetic_files


def _sample(pred, gt24):
    sample = BaseDataElement(metainfo=dict(gender='m'))
    sample.set_field(torch.as_tensor(pred, dtype=torch.float32), 'pred_eval_joints')
    sample.set_field(torch.as_tensor(gt24, dtype=torch.float32), 'gt_keypoints_3d')
    return sample.to_dict()


def _similar(points, rng):
    rot = axis_angle_to_rotmat(torch.as_tensor(rng.normal(size=3))).numpy()
    return 1.3 * points @ rot.T + rng.normal(size=3)


def test_pa_mpjpe_removes_rotation_scale_translation():
    rng = np.random.default_rng(0)
    metric = METRICS.build(dict(type='MeshMetric'))
    for _ in range(3):
        gt24 = np.concatenate([rng.normal(scale=0.3, size=(24, 3)), np.ones((24, 1))], 1)
        metric.process({}, [_sample(_similar(gt24[:14, :3], rng), gt24)])
    res = metric.evaluate(3)
    assert res['PA-MPJPE'] == pytest.approx(0, abs=1e-3)
    assert res['MPJPE'] > 100


def test_mpjpe_in_millimeters_with_mask():
    metric = METRICS.build(dict(type='MeshMetric', prefix='h36m'))
    gt24 = np.concatenate([np.zeros((24, 3)), np.ones((24, 1))], 1)
    gt24[0, 3] = 0  # right ankle not annotated: ignored
    pred = np.zeros((14, 3))
    pred[1:, 0] = 0.01
    pred[0, 0] = 5.
    metric.process({}, [_sample(pred, gt24)])
    res = metric.evaluate(1)
    assert res['h36m/MPJPE'] == pytest.approx(10., rel=1e-4)


def test_ground_truth_from_smpl(tmp_path):
    files = synthetic_files(tmp_path)
    model = build_body_model(files)
    pose = torch.zeros(72)
    pose[:3] = torch.tensor([np.pi, 0, 0])
    pose[18 * 3 + 2] = 1.0
    rot = axis_angle_to_rotmat(pose.reshape(1, 24, 3))
    out = model(betas=torch.zeros(1, 10), body_pose=rot[:, 1:], global_orient=rot[:, :1])
    pred = model.eval_joints(out['vertices'])[0]
    metric = METRICS.build(
        dict(type='MeshMetric', gt_source='smpl', body_models=dict(m=body_model_cfg(files))))
    sample = BaseDataElement(metainfo=dict(gender='m'))
    sample.set_field(pred, 'pred_eval_joints')
    sample.set_field(pose, 'gt_pose')
    sample.set_field(torch.zeros(10), 'gt_betas')
    metric.process({}, [sample.to_dict()])
    assert metric.evaluate(1)['MPJPE'] == pytest.approx(0, abs=1e-3)
    sample.set_metainfo(dict(gender='f'))
    with pytest.raises(KeyError, match="no body model for gender 'f'"):
        metric.process({}, [sample.to_dict()])
    with pytest.raises(ValueError, match='needs body_models'):
        METRICS.build(dict(type='MeshMetric', gt_source='smpl'))
