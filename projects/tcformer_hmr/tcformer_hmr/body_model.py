"""SMPL body model (Loper et al., 2015) through the ``smplx`` package, with SPIN's joint sets."""
import os.path as osp
import pickle
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import Tensor

from .constants import (H36M_TO_J14, J24_FROM_SMPL_AND_EXTRA, NUM_BETAS, NUM_EXTRA_JOINTS,
                        NUM_SMPL_VERTICES)

SMPL_URL = 'https://smpl.is.tue.mpg.de'
SMPL_KEYS = ('v_template', 'f', 'shapedirs', 'posedirs', 'J_regressor', 'kintree_table', 'weights')


def _missing_file(path: str, what: str, where: str) -> FileNotFoundError:
    return FileNotFoundError(f'{path} not found: expected {what}. {where}')


def resolve_smpl_file(model_path: str, gender: str = 'neutral') -> str:
    """The SMPL model file of ``model_path``: the file itself, or ``SMPL_<GENDER>.pkl`` /
    ``.npz`` in the folder ``model_path``.

    Raises:
        FileNotFoundError: With what is expected and where to get it (the SMPL model files are
            licensed and not distributed with this project).
    """
    if osp.isdir(model_path):
        for ext in ('pkl', 'npz'):
            path = osp.join(model_path, f'SMPL_{gender.upper()}.{ext}')
            if osp.isfile(path):
                return path
        model_path = osp.join(model_path, f'SMPL_{gender.upper()}.pkl')
    if not osp.isfile(model_path):
        raise _missing_file(
            model_path, f'the SMPL body model file (SMPL_{gender.upper()}.pkl or .npz: '
            '6890 vertices, 24 joints, 10 shape components)',
            f'The SMPL model is licensed: register at {SMPL_URL}, download it and put it at '
            'data/body_models/smpl/ (or point body_model.model_path at it); '
            'projects/tcformer_hmr/tools/make_synthetic_smpl.py writes a synthetic stand-in '
            'for tests.')
    return model_path


def load_joint_regressor(path: str, num_joints: int, name: str) -> np.ndarray:
    """Load a (num_joints, 6890) joint regressor ``.npy`` with a clear error when missing."""
    if not osp.isfile(path):
        raise _missing_file(
            path, f'{name}, a {num_joints}x{NUM_SMPL_VERTICES} joint regressor (.npy)',
            'It comes with the SPIN / mmhuman3d data (data/body_models/ in this project); '
            'projects/tcformer_hmr/tools/make_synthetic_smpl.py writes a synthetic one.')
    regressor = np.load(path).astype(np.float32)
    if regressor.shape != (num_joints, NUM_SMPL_VERTICES):
        raise ValueError(f'{path}: {name} must have shape ({num_joints}, {NUM_SMPL_VERTICES}), '
                         f'got {regressor.shape}.')
    return regressor


def _load_smpl_layer(path: str, num_betas: int):
    """smplx's ``SMPLLayer`` (no per-instance parameters) from a ``.pkl`` or ``.npz`` file."""
    import smplx
    from smplx.utils import Struct
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=True) as data:
            missing = [k for k in SMPL_KEYS if k not in data.files]
            if missing:
                raise KeyError(f'{path}: SMPL model file lacks the keys {missing} '
                               f'(expected {list(SMPL_KEYS)}).')
            struct = Struct(**{k: data[k] for k in SMPL_KEYS})
        return smplx.SMPLLayer(model_path=path, data_struct=struct, num_betas=num_betas)
    try:
        return smplx.SMPLLayer(model_path=path, num_betas=num_betas)
    except ModuleNotFoundError as e:
        if e.name != 'chumpy':
            raise
        # The files of the SMPL website pickle chumpy arrays; chumpy does not install with a
        # current pip, so the arrays must be converted once to plain numpy.
        raise RuntimeError(f'{path} stores chumpy arrays: load it once where chumpy is '
                           'installed and save the arrays as .npz with the keys '
                           f'{list(SMPL_KEYS)} (or use the chumpy-free pkl of SPIN / '
                           'mmhuman3d).') from e
    except (pickle.UnpicklingError, EOFError) as e:
        raise ValueError(f'{path} is not a SMPL model pickle: {e}') from e


@MODELS.register_module()
class SMPLBodyModel(BaseModule):
    """SMPL mesh and joints from pose (rotation matrices) and shape.

    Wraps ``smplx.SMPLLayer`` and adds SPIN's joint sets: the 24 ground-truth joints of the
    preprocessed annotation files (``J24_NAMES``), regressed with ``J_regressor_extra.npy``
    where SMPL has no such joint, and the 14 LSP evaluation joints from the Human3.6M regressor
    ``J_regressor_h36m.npy``. The files are buffers of no checkpoint (``persistent=False``), so
    checkpoints do not carry the licensed model.

    Args:
        model_path (str): SMPL model file (``.pkl`` as smplx reads it, or ``.npz`` with the
            same keys) or a folder holding ``SMPL_<GENDER>.pkl`` / ``.npz``.
        joint_regressor_extra (str): ``J_regressor_extra.npy`` (9 x 6890) of SPIN.
        joint_regressor_h36m (str, optional): ``J_regressor_h36m.npy`` (17 x 6890); needed
            by :meth:`eval_joints`. Defaults to None.
        gender (str): ``'neutral'``, ``'male'`` or ``'female'`` (picks the file of a folder).
            Defaults to ``'neutral'``.
        num_betas (int): Shape components. Defaults to 10.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 model_path: str,
                 joint_regressor_extra: str,
                 joint_regressor_h36m: Optional[str] = None,
                 gender: str = 'neutral',
                 num_betas: int = NUM_BETAS,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.model_file = resolve_smpl_file(model_path, gender)
        self.smpl = _load_smpl_layer(self.model_file, num_betas)
        if self.smpl.get_num_verts() != NUM_SMPL_VERTICES:
            raise ValueError(f'{self.model_file}: a SMPL model has {NUM_SMPL_VERTICES} '
                             f'vertices, got {self.smpl.get_num_verts()}.')
        extra = load_joint_regressor(joint_regressor_extra, NUM_EXTRA_JOINTS, 'J_regressor_extra')
        self.register_buffer('joint_regressor_extra', torch.from_numpy(extra), persistent=False)
        self.register_buffer('joint_map',
                             torch.tensor(J24_FROM_SMPL_AND_EXTRA, dtype=torch.long),
                             persistent=False)
        if joint_regressor_h36m is not None:
            h36m = torch.from_numpy(
                load_joint_regressor(joint_regressor_h36m, 17, 'J_regressor_h36m'))
        else:
            h36m = None
        self.register_buffer('joint_regressor_h36m', h36m, persistent=False)
        # Keep the licensed model out of checkpoints: it is loaded from model_path instead.
        self.smpl._non_persistent_buffers_set.update(self.smpl._buffers.keys())

    @property
    def faces(self) -> np.ndarray:
        """Triangles (13776, 3) of vertex indices."""
        return np.asarray(self.smpl.faces, dtype=np.int64)

    def forward(self, betas: Tensor, body_pose: Tensor, global_orient: Tensor) -> Dict[str, Tensor]:
        """Pose the mesh.

        Args:
            betas (Tensor): Shape (B, 10).
            body_pose (Tensor): Rotation matrices of joints 1-23, shape (B, 23, 3, 3).
            global_orient (Tensor): Root rotation, shape (B, 1, 3, 3).

        Returns:
            dict: ``vertices`` (B, 6890, 3) and ``joints`` (B, 24, 3), the 24 ground-truth
            joints of SPIN (``J24_NAMES``), in the model's frame (meters, no translation).
        """
        out = self.smpl(betas=betas, body_pose=body_pose, global_orient=global_orient)
        vertices = out.vertices
        extra = torch.einsum('jv,bvc->bjc', self.joint_regressor_extra, vertices)
        joints = torch.cat([out.joints, extra], dim=1)[:, self.joint_map]
        return dict(vertices=vertices, joints=joints)

    def eval_joints(self, vertices: Tensor) -> Tensor:
        """The 14 LSP evaluation joints of 3DPW and Human3.6M Protocol 2, as SPIN evaluates.

        Args:
            vertices (Tensor): Shape (B, 6890, 3).

        Returns:
            Tensor: (B, 14, 3), relative to the pelvis of the Human3.6M regressor.
        """
        if self.joint_regressor_h36m is None:
            raise ValueError('SMPLBodyModel was built without joint_regressor_h36m '
                             '(J_regressor_h36m.npy), which the evaluation joints need.')
        h36m = torch.einsum('jv,bvc->bjc', self.joint_regressor_h36m, vertices)
        return h36m[:, list(H36M_TO_J14)] - h36m[:, :1]
