"""Top-down crop, augmentation and packing of mesh samples."""
from typing import Dict, Optional, Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement
from mmpose.registry import TRANSFORMS

from .constants import J24_FLIP_PERM, SMPL_JOINTS_FLIP_PERM

#: Pixels of a scale unit: SPIN's ``scale`` is the box size / 200.
SCALE_UNIT = 200.


def _axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    return cv2.Rodrigues(np.asarray(aa, np.float64).reshape(3, 1))[0]


def _matrix_to_axis_angle(rot: np.ndarray) -> np.ndarray:
    return cv2.Rodrigues(rot)[0].reshape(3)


@TRANSFORMS.register_module()
class RandomMeshAugment(BaseTransform):
    """Sample SPIN's augmentation: box scale, in-plane rotation, horizontal flip and
    per-channel colour noise (applied by :class:`MeshTopdownAffine`).

    Required keys: none. Added keys: ``aug_scale``, ``rotation`` (degrees, counter-clockwise
    in the image), ``flip``, ``color_scale`` (3, ).

    Args:
        scale_factor (float): Scale in [1 - f, 1 + f] (clipped at 2 sigma of a normal with
            sigma f). Defaults to 0.25.
        rot_factor (float): Rotation in degrees (clipped at 2 sigma); applied with
            probability ``rot_prob``. Defaults to 30.
        rot_prob (float): Defaults to 0.6.
        flip_prob (float): Defaults to 0.5.
        noise_factor (float): Colour channels scaled by U[1 - f, 1 + f]. Defaults to 0.4.
    """

    def __init__(self,
                 scale_factor: float = 0.25,
                 rot_factor: float = 30.,
                 rot_prob: float = 0.6,
                 flip_prob: float = 0.5,
                 noise_factor: float = 0.4):
        super().__init__()
        self.scale_factor = scale_factor
        self.rot_factor = rot_factor
        self.rot_prob = rot_prob
        self.flip_prob = flip_prob
        self.noise_factor = noise_factor

    def transform(self, results: Dict) -> Dict:
        sf, rf = self.scale_factor, self.rot_factor
        results['aug_scale'] = float(np.clip(np.random.randn() * sf + 1, 1 - sf, 1 + sf))
        rot = float(np.clip(np.random.randn() * rf, -2 * rf, 2 * rf))
        results['rotation'] = rot if np.random.rand() < self.rot_prob else 0.
        results['flip'] = bool(np.random.rand() < self.flip_prob)
        nf = self.noise_factor
        results['color_scale'] = np.random.uniform(1 - nf, 1 + nf, 3).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class MeshTopdownAffine(BaseTransform):
    """Crop the person box (``center``, ``scale`` x 200 pixels) to ``input_size`` with the
    augmentation of :class:`RandomMeshAugment` (if it ran), and move the labels with it.

    One affine map (rotation about the box centre, scale, optional mirror) warps the image
    and the 2D keypoints; the same in-plane rotation turns the 3D joints and the SMPL root
    (the camera's x/y axes are the image's), and a flip mirrors x and swaps left and right
    joints and pose parameters.

    Required keys: ``img``, ``center``, ``scale``, ``keypoints_2d``, ``keypoints_3d``,
    ``pose``. Modified keys: ``img``, ``keypoints_2d`` (crop pixels), ``keypoints_3d``,
    ``pose``. Added keys: ``input_size``, ``warp_mat`` (2x3, image -> crop).

    Args:
        input_size (Sequence[int]): Crop (w, h). Defaults to (224, 224).
    """

    def __init__(self, input_size: Sequence[int] = (224, 224)):
        super().__init__()
        self.input_size = tuple(int(s) for s in input_size)

    def transform(self, results: Dict) -> Dict:
        w, h = self.input_size
        rot = results.get('rotation', 0.)
        flip = results.get('flip', False)
        side = results['scale'] * results.get('aug_scale', 1.) * SCALE_UNIT
        ratio = max(w, h) / side
        # Counter-clockwise in the image, whose y axis points down.
        theta = -np.deg2rad(rot)
        c, s = np.cos(theta), np.sin(theta)
        lin = ratio * np.array([[c, -s], [s, c]])
        if flip:
            lin = np.diag([-1., 1.]) @ lin
        centre_out = np.array([(w - 1) / 2, (h - 1) / 2])
        trans = centre_out - lin @ np.asarray(results['center'], np.float64)
        warp = np.concatenate([lin, trans[:, None]], axis=1)
        img = cv2.warpAffine(results['img'], warp, (w, h), flags=cv2.INTER_LINEAR)
        if 'color_scale' in results:
            img = np.clip(img * results['color_scale'][None, None], 0, 255).astype(np.uint8)
        results['img'] = img

        kp2d = results['keypoints_2d'].copy()
        kp2d[:, :2] = kp2d[:, :2] @ lin.T + trans
        kp3d = results['keypoints_3d'].copy()
        rot3 = np.eye(3)
        rot3[:2, :2] = [[c, -s], [s, c]]
        kp3d[:, :3] = kp3d[:, :3] @ rot3.T
        pose = results['pose'].reshape(24, 3).copy()
        pose[0] = _matrix_to_axis_angle(rot3 @ _axis_angle_to_matrix(pose[0]))
        if flip:
            kp2d = kp2d[list(J24_FLIP_PERM)]
            kp3d = kp3d[list(J24_FLIP_PERM)]
            kp3d[:, 0] *= -1
            # Mirroring x: R -> F R F with F = diag(-1, 1, 1), i.e. (x, y, z) -> (x, -y, -z).
            pose = pose[list(SMPL_JOINTS_FLIP_PERM)] * np.array([1., -1., -1.])
        results['keypoints_2d'] = kp2d.astype(np.float32)
        results['keypoints_3d'] = kp3d.astype(np.float32)
        results['pose'] = pose.reshape(72).astype(np.float32)
        results['input_size'] = self.input_size
        results['warp_mat'] = warp.astype(np.float32)
        return results


@TRANSFORMS.register_module()
class PackMeshInputs(BaseTransform):
    """Pack the crop (3, H, W) and a :class:`BaseDataElement` with the labels
    (``gt_keypoints_2d`` (24, 3) in crop pixels, ``gt_keypoints_3d`` (24, 4), ``gt_pose``
    (72, ), ``gt_betas`` (10, ), ``has_smpl``, ``has_keypoints_3d``) and the metainfo.

    Args:
        meta_keys (Sequence[str]): Keys of the metainfo.
    """

    GT_KEYS = dict(keypoints_2d='gt_keypoints_2d',
                   keypoints_3d='gt_keypoints_3d',
                   pose='gt_pose',
                   betas='gt_betas',
                   has_smpl='has_smpl',
                   has_keypoints_3d='has_keypoints_3d')

    def __init__(self,
                 meta_keys: Optional[Sequence[str]] = ('img_path', 'ori_shape', 'img_shape',
                                                       'center', 'scale', 'input_size', 'warp_mat',
                                                       'flip', 'rotation', 'gender', 'dataset_name',
                                                       'sample_idx')):
        super().__init__()
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        sample = BaseDataElement(metainfo={k: results[k] for k in self.meta_keys if k in results})
        for key, field in self.GT_KEYS.items():
            sample.set_field(torch.as_tensor(np.asarray(results[key], np.float32)), field)
        return dict(inputs=torch.from_numpy(img), data_samples=sample)
