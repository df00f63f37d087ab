"""Rotation representations of the HMR head."""
import torch
import torch.nn.functional as F
from torch import Tensor


def rot6d_to_rotmat(x: Tensor) -> Tensor:
    """Continuous 6D rotation representation (Zhou et al., CVPR 2019) to rotation matrices.

    The 6 numbers are the first two columns of the matrix (row-major, as SPIN stores
    ``smpl_mean_params.npz``); Gram-Schmidt makes them orthonormal and their cross product
    gives the third column.

    Args:
        x (Tensor): Shape (..., 6).

    Returns:
        Tensor: Shape (..., 3, 3).
    """
    shape = x.shape[:-1]
    x = x.reshape(-1, 3, 2)
    b1 = F.normalize(x[:, :, 0], dim=1)
    a2 = x[:, :, 1]
    b2 = F.normalize(a2 - (b1 * a2).sum(dim=1, keepdim=True) * b1, dim=1)
    b3 = torch.cross(b1, b2, dim=1)
    return torch.stack((b1, b2, b3), dim=-1).reshape(*shape, 3, 3)


def rotmat_to_rot6d(rotmat: Tensor) -> Tensor:
    """Inverse of :func:`rot6d_to_rotmat`: (..., 3, 3) -> (..., 6)."""
    return rotmat[..., :2].reshape(*rotmat.shape[:-2], 6)


def axis_angle_to_rotmat(aa: Tensor) -> Tensor:
    """Rodrigues' formula: axis-angle (..., 3) -> rotation matrices (..., 3, 3)."""
    shape = aa.shape[:-1]
    aa = aa.reshape(-1, 3)
    angle = torch.linalg.norm(aa + 1e-8, dim=1, keepdim=True)
    axis = aa / angle
    x, y, z = axis.unbind(dim=1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=1).reshape(-1, 3, 3)
    angle = angle[:, :, None]
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device)
    rot = eye + torch.sin(angle) * k + (1 - torch.cos(angle)) * (k @ k)
    return rot.reshape(*shape, 3, 3)
