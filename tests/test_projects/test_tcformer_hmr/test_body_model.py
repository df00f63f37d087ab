import pickle

import numpy as np
import pytest
import smplx
import torch

from projects.tcformer_hmr.tcformer_hmr import SMPLBodyModel
from projects.tcformer_hmr.tcformer_hmr.constants import (J24_NAMES, NUM_SMPL_FACES,
                                                          NUM_SMPL_VERTICES)
from projects.tcformer_hmr.tcformer_hmr.rotation import axis_angle_to_rotmat
from .synthetic import build_body_model, synthetic_files


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    return synthetic_files(tmp_path_factory.mktemp('smpl'))


def _rest(batch=1):
    return dict(betas=torch.zeros(batch, 10),
                body_pose=torch.eye(3).expand(batch, 23, 3, 3),
                global_orient=torch.eye(3).expand(batch, 1, 3, 3))


def test_synthetic_file_loads_with_smplx(files):
    with open(files['smpl'], 'rb') as f:
        data = pickle.load(f, encoding='latin1')
    assert data['v_template'].shape == (NUM_SMPL_VERTICES, 3)
    assert data['f'].shape == (NUM_SMPL_FACES, 3)
    assert data['shapedirs'].shape == (NUM_SMPL_VERTICES, 3, 10)
    assert data['posedirs'].shape == (NUM_SMPL_VERTICES, 3, 207)
    assert data['J_regressor'].shape == (24, NUM_SMPL_VERTICES)
    assert data['weights'].shape == (NUM_SMPL_VERTICES, 24)
    assert data['kintree_table'].shape == (2, 24)
    np.testing.assert_allclose(data['weights'].sum(1), 1)
    # smplx's own loader: 24 joints + 21 vertex keypoints.
    out = smplx.SMPL(model_path=files['smpl'])()
    assert out.vertices.shape == (1, NUM_SMPL_VERTICES, 3)
    assert out.joints.shape == (1, 45, 3)


def test_joints_in_spin_order(files):
    model = build_body_model(files)
    out = model(**_rest())
    joints = dict(zip(J24_NAMES, out['joints'][0].numpy()))
    assert out['vertices'].shape == (1, NUM_SMPL_VERTICES, 3)
    assert len(joints) == 24
    # T-pose, y up: head above neck above pelvis above knees above ankles; left is +x.
    assert joints['head_top_lsp'][1] > joints['neck_lsp'][1] > joints['pelvis_mpii'][1]
    assert joints['pelvis_mpii'][1] > joints['left_knee'][1] > joints['left_ankle'][1]
    assert joints['left_wrist'][0] > 0.5 > -0.5 > joints['right_wrist'][0]
    assert joints['left_eye'][0] > 0 > joints['right_eye'][0]
    assert joints['nose'][2] > joints['head_h36m'][2]
    eval_joints = model.eval_joints(out['vertices'])
    assert eval_joints.shape == (1, 14, 3)
    # Relative to the pelvis: the hips (LSP 2, 3) are symmetric about it.
    np.testing.assert_allclose(eval_joints[0, 2, 0], -eval_joints[0, 3, 0], atol=0.02)


def test_pose_and_shape_move_the_mesh(files):
    model = build_body_model(files)
    rest = model(**_rest())
    args = _rest()
    aa = torch.zeros(24, 3)
    aa[18] = torch.tensor([0., 0., -1.5])  # bend the left elbow
    rot = axis_angle_to_rotmat(aa)
    args['body_pose'] = rot[None, 1:]
    bent = model(**args)
    moved = (bent['joints'] - rest['joints']).norm(dim=-1)[0]
    assert moved[J24_NAMES.index('left_wrist')] > 0.2
    assert moved[J24_NAMES.index('right_wrist')] < 1e-5
    args = _rest()
    args['betas'] = torch.tensor([[2.] + [0.] * 9])
    bigger = model(**args)
    height = lambda j: j[0, 13, 1] - j[0, 0, 1]  # noqa: E731  head top - right ankle
    assert height(bigger['joints']) > 1.05 * height(rest['joints'])


def test_no_model_weights_in_checkpoint(files):
    keys = build_body_model(files).state_dict().keys()
    assert not [k for k in keys if 'shapedirs' in k or 'v_template' in k or 'regressor' in k]


def test_missing_files_are_named(files, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'SMPL_NEUTRAL\.pkl.*smpl\.is\.tue\.mpg\.de'):
        SMPLBodyModel(str(tmp_path), files['extra'])
    with pytest.raises(FileNotFoundError, match=r'nothere\.npy.*J_regressor_extra.*9x6890'):
        SMPLBodyModel(files['smpl'], str(tmp_path / 'nothere.npy'))
    with pytest.raises(ValueError, match=r'J_regressor_h36m must have shape \(17, 6890\)'):
        SMPLBodyModel(files['smpl'], files['extra'], joint_regressor_h36m=files['extra'])
    with pytest.raises(ValueError, match='without joint_regressor_h36m'):
        SMPLBodyModel(files['smpl'], files['extra']).eval_joints(torch.zeros(1, 6890, 3))


def test_npz_model_file(files, tmp_path):
    with open(files['smpl'], 'rb') as f:
        data = pickle.load(f, encoding='latin1')
    np.savez(tmp_path / 'SMPL_MALE.npz', **data)
    model = SMPLBodyModel(str(tmp_path), files['extra'], gender='male')
    assert model.model_file.endswith('SMPL_MALE.npz')
    ref = build_body_model(files)
    torch.testing.assert_close(model(**_rest())['joints'], ref(**_rest())['joints'])
    del data['shapedirs']
    np.savez(tmp_path / 'bad.npz', **data)
    with pytest.raises(KeyError, match=r"bad\.npz.*\['shapedirs'\]"):
        SMPLBodyModel(str(tmp_path / 'bad.npz'), files['extra'])
