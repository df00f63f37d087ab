import re

import numpy as np
import torch
from conftest import assert_loads_without_trust, free_port, run_tool
from mmpose.evaluation.functional import keypoint_mpjpe

from projects.tcformer_hmr.tcformer_hmr import HMRHead
from .synthetic import build_body_model, load_tool

TINY_CONFIG = 'projects/tcformer_hmr/configs/hmr_tcformer-tiny_1xb16-3e_tiny-mesh-96x96.py'


def tiny_options(data):
    """``--cfg-options`` pointing the tiny config at a generated set in ``data``."""
    models = f'{data}/body_models/'
    return [f'{split}_dataloader.dataset.data_root={data}/'
            for split in ('train', 'val', 'test')] + [
                f'model.body_model.model_path={models}SMPL_NEUTRAL.pkl',
                f'model.body_model.joint_regressor_extra={models}J_regressor_extra.npy',
                f'model.body_model.joint_regressor_h36m={models}J_regressor_h36m.npy',
                f'model.head.mean_params={models}smpl_mean_params.npz'
            ]


def mean_pose_errors(data):
    """(MPJPE, PA-MPJPE) in mm of predicting the mean SMPL pose and shape for every val image."""
    files = dict(smpl=f'{data}/body_models/SMPL_NEUTRAL.pkl',
                 extra=f'{data}/body_models/J_regressor_extra.npy',
                 h36m=f'{data}/body_models/J_regressor_h36m.npy')
    model = build_body_model(files)
    head = HMRHead(in_channels=1, mean_params=f'{data}/body_models/smpl_mean_params.npz')
    rot, betas, _ = head.mean_estimate(1)
    with torch.no_grad():
        mesh = model(betas=betas, body_pose=rot[:, 1:], global_orient=rot[:, :1])['vertices']
        pred = model.eval_joints(mesh).numpy()
    gt = np.load(f'{data}/val.npz')['S'][:, :14, :3]
    pred = np.repeat(pred, len(gt), axis=0)
    mask = np.ones(gt.shape[:2], bool)
    return (keypoint_mpjpe(pred, gt, mask) * 1000,
            keypoint_mpjpe(pred, gt, mask, alignment='procrustes') * 1000)


def test_tiny_training_beats_the_mean_pose(tmp_path):
    data = tmp_path / 'mesh'
    load_tool('make_tiny_mesh_data').generate(str(data), num_train=512, num_val=32)
    mean_mpjpe, mean_pa = mean_pose_errors(data)
    result = run_tool([
        'tools/train.py', TINY_CONFIG, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', *tiny_options(data)
    ],
                      timeout=900)
    found = re.findall(r'Epoch\(val\).*?MPJPE: ([\d.]+)\s+PA-MPJPE: ([\d.]+)',
                       result.stdout + result.stderr)
    assert found, result.stdout[-3000:]
    mpjpe, pa_mpjpe = map(float, found[-1])
    print(f'mean pose: MPJPE {mean_mpjpe:.1f} PA-MPJPE {mean_pa:.1f}; '
          f'trained: MPJPE {mpjpe:.1f} PA-MPJPE {pa_mpjpe:.1f}')
    assert mpjpe < 0.95 * mean_mpjpe
    assert pa_mpjpe < 0.93 * mean_pa

    # tools/test.py on the last checkpoint gives the last validation's errors.
    work = tmp_path / 'work'
    assert_loads_without_trust(work)
    checkpoint = (work / 'last_checkpoint').read_text().strip()
    result = run_tool([
        'tools/test.py', TINY_CONFIG, checkpoint, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *tiny_options(data)
    ],
                      timeout=300)
    [tested] = re.findall(r'Epoch\(test\).*?MPJPE: ([\d.]+)\s+PA-MPJPE: ([\d.]+)',
                          result.stdout + result.stderr)
    np.testing.assert_allclose(list(map(float, tested)), [mpjpe, pa_mpjpe], atol=0.05)


def test_dist_train_two_processes(tmp_path):
    """tools/dist_train.sh with 2 CPU processes (gloo) on the project's tiny config."""
    data = tmp_path / 'mesh'
    load_tool('make_tiny_mesh_data').generate(str(data), num_train=64, num_val=8)
    work = tmp_path / 'work'
    result = run_tool([
        'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir',
        str(work), '--cfg-options', *tiny_options(data), 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1'
    ],
                      timeout=600,
                      env=dict(PORT=str(free_port())))
    out = result.stdout + result.stderr
    assert 'gloo' in out
    # 64 images, batch 16 per process on 2 processes: 2 iterations, then the validation.
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\]', out), out[-3000:]
    assert re.search(r'Epoch\(val\).*?MPJPE: [\d.]+', out), out[-3000:]
    assert (work / 'epoch_1.pth').exists()
