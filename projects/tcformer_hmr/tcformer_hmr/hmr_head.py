"""HMR regression head (Kanazawa et al., CVPR 2018) with iterative error feedback."""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import Tensor

from .constants import NUM_BETAS, NUM_SMPL_JOINTS
from .rotation import rot6d_to_rotmat

MEAN_PARAM_KEYS = ('pose', 'shape', 'cam')


def default_mean_params() -> Dict[str, np.ndarray]:
    """Mean parameters when no ``smpl_mean_params.npz`` is given: every joint unrotated except
    the root, turned by pi about x so the body stands upright in camera coordinates (y down,
    the frame of SPIN's annotations), mean shape, and SPIN's mean camera (s, tx, ty) =
    (0.9, 0, 0)."""
    rotmat = np.tile(np.eye(3), (NUM_SMPL_JOINTS, 1, 1))
    rotmat[0] = np.diag([1., -1., -1.])
    return dict(pose=rotmat[:, :, :2].reshape(-1),
                shape=np.zeros(NUM_BETAS),
                cam=np.array([0.9, 0., 0.]))


def load_mean_params(path: Optional[str]) -> Dict[str, np.ndarray]:
    """SPIN's ``smpl_mean_params.npz`` (``pose`` 24x6D, ``shape`` 10, ``cam`` 3) or the
    default of :func:`default_mean_params` when ``path`` is None."""
    if path is None:
        return default_mean_params()
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: expected SPIN\'s smpl_mean_params.npz (keys pose: 144, '
            'shape: 10, cam: 3), from the SPIN / mmhuman3d data (data/body_models/ in this '
            'project); set mean_params=None to start from the unrotated mean pose.')
    with np.load(path) as data:
        missing = [k for k in MEAN_PARAM_KEYS if k not in data.files]
        if missing:
            raise KeyError(f'{path}: mean parameter file lacks the keys {missing} '
                           f'(expected {list(MEAN_PARAM_KEYS)}).')
        params = {k: np.asarray(data[k], dtype=np.float64).reshape(-1) for k in MEAN_PARAM_KEYS}
    sizes = dict(pose=NUM_SMPL_JOINTS * 6, shape=NUM_BETAS, cam=3)
    for key, size in sizes.items():
        if params[key].size != size:
            raise ValueError(f'{path}: {key} must have {size} values, got {params[key].size}.')
    return params


@MODELS.register_module()
class HMRHead(BaseModule):
    """Regress SMPL pose, shape and a weak-perspective camera from a global image feature.

    Starting from the mean parameters, each of ``num_iters`` iterations concatenates the
    feature with the current estimate and adds the correction that two fully connected layers
    predict (iterative error feedback, HMR section 3.2; SPIN's regressor). Joint rotations use
    the continuous 6D representation of Zhou et al. (as SPIN): axis-angle and quaternions have
    discontinuities that make regression harder, and 6D maps to a valid rotation for any
    output.

    Args:
        in_channels (int): Channels of the global feature.
        hidden_dims (int): Width of the two fully connected layers. Defaults to 1024.
        num_iters (int): Iterations of error feedback. Defaults to 3.
        dropout (float): Dropout after each fully connected layer. Defaults to 0.5.
        mean_params (str, optional): SPIN's ``smpl_mean_params.npz``; None starts from
            :func:`default_mean_params`. Defaults to None.
        init_cfg (dict, optional): Initialization config. Defaults to None: SPIN's init
            (PyTorch's default for the fully connected layers, Xavier with gain 0.01 for the
            decoders, so the first estimate is close to the mean).
    """

    def __init__(self,
                 in_channels: int,
                 hidden_dims: int = 1024,
                 num_iters: int = 3,
                 dropout: float = 0.5,
                 mean_params: Optional[str] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        if init_cfg is None:
            init_cfg = dict(
                type='Xavier',
                gain=0.01,
                distribution='uniform',
                override=[dict(name='dec_pose'),
                          dict(name='dec_shape'),
                          dict(name='dec_cam')])
        super().__init__(init_cfg=init_cfg)
        if num_iters < 1:
            raise ValueError(f'HMRHead: num_iters must be >= 1, got {num_iters}.')
        self.in_channels = in_channels
        self.num_iters = num_iters
        npose = NUM_SMPL_JOINTS * 6
        self.fc1 = nn.Linear(in_channels + npose + NUM_BETAS + 3, hidden_dims)
        self.drop1 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_dims, hidden_dims)
        self.drop2 = nn.Dropout(dropout)
        self.dec_pose = nn.Linear(hidden_dims, npose)
        self.dec_shape = nn.Linear(hidden_dims, NUM_BETAS)
        self.dec_cam = nn.Linear(hidden_dims, 3)
        params = load_mean_params(mean_params)
        for key in MEAN_PARAM_KEYS:
            self.register_buffer(f'init_{key}',
                                 torch.tensor(params[key], dtype=torch.float32)[None])

    def forward(self, feats: Union[Tensor, Sequence[Tensor]]) -> Dict[str, Tensor]:
        """Run the iterations.

        Args:
            feats (Tensor | Sequence[Tensor]): Global features (B, C), or a tuple of them
                (the neck's output), whose last one is used.

        Returns:
            dict: ``pred_pose`` rotation matrices (B, 24, 3, 3) (root first, SMPL order),
            ``pred_betas`` (B, 10) and ``pred_cam`` (B, 3): weak-perspective scale and
            translation (s, tx, ty) onto the crop in [-1, 1] coordinates.
        """
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        if feats.dim() != 2 or feats.shape[1] != self.in_channels:
            raise ValueError(f'HMRHead takes (B, {self.in_channels}) features, got '
                             f'{tuple(feats.shape)}.')
        batch = feats.shape[0]
        pose = self.init_pose.expand(batch, -1)
        betas = self.init_shape.expand(batch, -1)
        cam = self.init_cam.expand(batch, -1)
        for _ in range(self.num_iters):
            x = torch.cat([feats, pose, betas, cam], dim=1)
            x = self.drop2(self.fc2(self.drop1(self.fc1(x))))
            pose = pose + self.dec_pose(x)
            betas = betas + self.dec_shape(x)
            cam = cam + self.dec_cam(x)
        rotmat = rot6d_to_rotmat(pose.reshape(batch, NUM_SMPL_JOINTS, 6))
        return dict(pred_pose=rotmat, pred_betas=betas, pred_cam=cam)

    def mean_estimate(self, batch: int) -> Tuple[Tensor, Tensor, Tensor]:
        """The mean parameters as an estimate: rotations (B, 24, 3, 3), betas (B, 10),
        camera (B, 3)."""
        rotmat = rot6d_to_rotmat(self.init_pose.reshape(1, NUM_SMPL_JOINTS, 6))
        return (rotmat.expand(batch, -1, -1,
                              -1), self.init_shape.expand(batch,
                                                          -1), self.init_cam.expand(batch, -1))
