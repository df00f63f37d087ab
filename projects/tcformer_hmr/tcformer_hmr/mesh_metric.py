"""MPJPE and PA-MPJPE on the 14 LSP joints (3DPW, Human3.6M Protocol 2)."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpose.evaluation.functional import keypoint_mpjpe
from mmpose.registry import METRICS, MODELS

from .constants import J24_TO_J14
from .rotation import axis_angle_to_rotmat


@METRICS.register_module()
class MeshMetric(BaseMetric):
    """Mean per-joint position error, without and after Procrustes alignment, in mm.

    The prediction is the 14 LSP joints the Human3.6M regressor gives from the predicted mesh,
    relative to its pelvis (``pred_eval_joints`` of :class:`HMRMeshEstimator`), as SPIN
    evaluates. The ground truth is

    * ``gt_source='keypoints_3d'``: the 3D joints of the annotation file (``S``, Human3.6M:
      already relative to the pelvis in SPIN's files), the 14 LSP joints of the 24;
    * ``gt_source='smpl'``: the same regressor on the ground-truth SMPL mesh posed with the
      model of the sample's gender (3DPW), from ``body_models``.

    PA-MPJPE aligns the prediction with a similarity transform (rotation, scale, translation)
    per sample first (mmpose's ``keypoint_mpjpe`` with ``alignment='procrustes'``).

    Args:
        gt_source (str): ``'keypoints_3d'`` or ``'smpl'``. Defaults to ``'keypoints_3d'``.
        body_models (dict, optional): ``{gender: SMPLBodyModel config}`` for
            ``gt_source='smpl'``, genders as in the file (``'m'``, ``'f'``, ``'n'``).
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None.
    """

    default_prefix = None

    def __init__(self,
                 gt_source: str = 'keypoints_3d',
                 body_models: Optional[Dict[str, dict]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if gt_source not in ('keypoints_3d', 'smpl'):
            raise ValueError(f"gt_source must be 'keypoints_3d' or 'smpl', got {gt_source!r}.")
        if gt_source == 'smpl' and not body_models:
            raise ValueError("gt_source='smpl' needs body_models ({gender: SMPLBodyModel cfg}).")
        self.gt_source = gt_source
        self.body_model_cfgs = dict(body_models or {})
        self._body_models = {}

    def _body_model(self, gender: str):
        if gender not in self.body_model_cfgs:
            raise KeyError(f'MeshMetric: no body model for gender {gender!r} (have '
                           f'{sorted(self.body_model_cfgs)}).')
        if gender not in self._body_models:
            self._body_models[gender] = MODELS.build(self.body_model_cfgs[gender]).eval()
        return self._body_models[gender]

    @torch.no_grad()
    def _smpl_joints(self, pose: torch.Tensor, betas: torch.Tensor, gender: str) -> np.ndarray:
        model = self._body_model(gender)
        rot = axis_angle_to_rotmat(pose.float().cpu().reshape(1, 24, 3))
        out = model(betas=betas.float().cpu()[None], body_pose=rot[:, 1:], global_orient=rot[:, :1])
        return model.eval_joints(out['vertices'])[0].numpy()

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store (pred, gt, mask) of every sample: (14, 3), (14, 3), (14, )."""
        for sample in data_samples:
            pred = sample.get('pred_eval_joints')
            if pred is None:
                raise KeyError('MeshMetric needs pred_eval_joints in the predictions '
                               '(HMRMeshEstimator.predict).')
            pred = pred.detach().float().cpu().numpy()
            if self.gt_source == 'smpl':
                gt = self._smpl_joints(sample.get('gt_pose'), sample.get('gt_betas'),
                                       sample.get('gender', 'n'))
                mask = np.ones(14, bool)
            else:
                kp3d = torch.as_tensor(sample.get('gt_keypoints_3d')).float().cpu().numpy()
                gt = kp3d[list(J24_TO_J14), :3]
                mask = kp3d[list(J24_TO_J14), 3] > 0
            self.results.append((pred, gt, mask))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, mask = (np.stack(x) for x in zip(*results))
        # meters -> millimeters
        return {
            'MPJPE': float(keypoint_mpjpe(pred, gt, mask, alignment='none')) * 1000,
            'PA-MPJPE': float(keypoint_mpjpe(pred, gt, mask, alignment='procrustes')) * 1000,
        }
