"""The losses of HMR as SPIN trains it (without HMR's adversarial prior)."""
from typing import Dict

import torch
import torch.nn as nn
from mmpose.registry import MODELS
from torch import Tensor

from .constants import J24_HIPS
from .rotation import axis_angle_to_rotmat


def _masked_mean(per_sample: Tensor, mask: Tensor) -> Tensor:
    """Mean of (B, ...) over the samples where mask (B, ) is set; 0 (with a graph) if none."""
    mask = mask.to(per_sample.dtype).reshape(-1, *([1] * (per_sample.dim() - 1)))
    count = mask.sum() * per_sample[0].numel()
    return (per_sample * mask).sum() / count.clamp(min=1)


def weak_perspective_projection(points: Tensor, cam: Tensor) -> Tensor:
    """Project 3D points with a weak-perspective camera: ``s * (X[:, :2] + t)``.

    Args:
        points (Tensor): (B, K, 3) in the body model's frame (x right, y down).
        cam (Tensor): (B, 3) scale and translation (s, tx, ty).

    Returns:
        Tensor: (B, K, 2), in crop coordinates normalised to [-1, 1].
    """
    return cam[:, None, :1] * (points[..., :2] + cam[:, None, 1:])


def pelvis_align(joints: Tensor) -> Tensor:
    """Subtract the middle of the hips of the 24 ground-truth joints (B, 24, C>=3)."""
    pelvis = joints[:, list(J24_HIPS), :3].mean(dim=1, keepdim=True)
    return joints[..., :3] - pelvis


@MODELS.register_module()
class HMRLoss(nn.Module):
    """2D keypoint re-projection, 3D joints, SMPL parameters, camera and betas terms.

    SPIN's weights (5 for 2D and 3D keypoints, 1 for pose, 0.001 for betas, the camera term
    ``exp(-10 s)^2``, all times 60) are the defaults. SPIN has no betas regulariser: its
    images without SMPL labels get SMPLify fits; ``loss_weight_betas_reg`` penalises
    ||betas||^2 (HMR's shape prior without the discriminator) for whatever lacks them.

    Args:
        loss_weight_keypoints_2d (float): Defaults to 300 (5 x 60).
        loss_weight_keypoints_3d (float): Defaults to 300 (5 x 60).
        loss_weight_pose (float): Defaults to 60.
        loss_weight_betas (float): Defaults to 0.06 (0.001 x 60).
        loss_weight_cam (float): Defaults to 60.
        loss_weight_betas_reg (float): Defaults to 0.
    """

    def __init__(self,
                 loss_weight_keypoints_2d: float = 300.,
                 loss_weight_keypoints_3d: float = 300.,
                 loss_weight_pose: float = 60.,
                 loss_weight_betas: float = 0.06,
                 loss_weight_cam: float = 60.,
                 loss_weight_betas_reg: float = 0.):
        super().__init__()
        self.weights = dict(keypoints_2d=loss_weight_keypoints_2d,
                            keypoints_3d=loss_weight_keypoints_3d,
                            pose=loss_weight_pose,
                            betas=loss_weight_betas,
                            cam=loss_weight_cam,
                            betas_reg=loss_weight_betas_reg)

    def forward(self, pred: Dict[str, Tensor], gt: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Compute the losses.

        Args:
            pred (dict): ``keypoints_2d`` (B, 24, 2) normalised to [-1, 1], ``joints``
                (B, 24, 3), ``pose`` (B, 24, 3, 3), ``betas`` (B, 10), ``cam`` (B, 3).
            gt (dict): ``keypoints_2d`` (B, 24, 3) normalised, with confidence;
                ``keypoints_3d`` (B, 24, 4) with confidence, ``has_keypoints_3d`` (B, );
                ``pose`` axis-angle (B, 72), ``betas`` (B, 10), ``has_smpl`` (B, ).

        Returns:
            dict: ``loss_<term>`` for every term with a non-zero weight.
        """
        batch = pred['betas'].shape[0]
        ones = pred['betas'].new_ones(batch)
        conf2d = gt['keypoints_2d'][..., 2:]
        terms = dict(keypoints_2d=_masked_mean(
            conf2d * (pred['keypoints_2d'] - gt['keypoints_2d'][..., :2])**2, ones))
        conf3d = gt['keypoints_3d'][..., 3:]
        diff3d = pelvis_align(pred['joints']) - pelvis_align(gt['keypoints_3d'])
        terms['keypoints_3d'] = _masked_mean(conf3d * diff3d**2, gt['has_keypoints_3d'])
        gt_rotmat = axis_angle_to_rotmat(gt['pose'].reshape(batch, -1, 3))
        terms['pose'] = _masked_mean((pred['pose'] - gt_rotmat)**2, gt['has_smpl'])
        terms['betas'] = _masked_mean((pred['betas'] - gt['betas'])**2, gt['has_smpl'])
        # Keeps the weak-perspective scale positive (the body in front of the camera).
        terms['cam'] = (torch.exp(-10 * pred['cam'][:, 0])**2).mean()
        terms['betas_reg'] = (pred['betas']**2).mean()
        return {f'loss_{k}': self.weights[k] * v for k, v in terms.items() if self.weights[k]}
