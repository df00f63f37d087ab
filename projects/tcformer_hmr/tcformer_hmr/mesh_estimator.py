"""Single-image mesh estimator: backbone, neck, HMR head and SMPL."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from mmpose.registry import MODELS
from torch import Tensor

from .losses import weak_perspective_projection

OptConfig = Optional[dict]


@MODELS.register_module()
class HMRMeshEstimator(BaseModel):
    """Recover a SMPL mesh from a person crop (HMR, Kanazawa et al. 2018; TCFormer CVPR 2022
    section 4.2 with a TCFormer backbone).

    ``backbone`` and ``neck`` give one global feature per image (e.g. ``TCFormer`` with
    ``output_format='tokens'`` and ``TokenGlobalAveragePooling``); ``head``
    (:class:`HMRHead`) regresses SMPL pose, shape and camera; ``body_model``
    (:class:`SMPLBodyModel`) poses the mesh, from which the losses and the evaluation joints
    are computed.

    Args:
        backbone (dict): Backbone config.
        head (dict): Head config.
        body_model (dict): Body model config.
        neck (dict, optional): Neck config. Defaults to None.
        loss (dict): Loss config. Defaults to ``dict(type='HMRLoss')``.
        test_cfg (dict, optional): ``output_vertices=True`` adds the mesh (6890, 3) to each
            prediction (the demo uses it; evaluation needs only the joints). Defaults to None.
        data_preprocessor (dict, optional): Defaults to None (mmengine's
            ``BaseDataPreprocessor``).
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 body_model: dict,
                 neck: OptConfig = None,
                 loss: dict = dict(type='HMRLoss'),
                 test_cfg: OptConfig = None,
                 data_preprocessor: OptConfig = None,
                 init_cfg: OptConfig = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        self.body_model = MODELS.build(body_model)
        self.loss_module = MODELS.build(loss)
        self.test_cfg = dict(test_cfg or {})

    def extract_feat(self, inputs: Tensor) -> Sequence[Tensor]:
        """Global features of images (B, 3, H, W): a tuple whose last item is (B, C)."""
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        return feats

    def _forward(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        """Head outputs (see :meth:`HMRHead.forward`) for images (B, 3, H, W)."""
        return self.head(self.extract_feat(inputs))

    def _pose_mesh(self, params: Dict[str, Tensor]) -> Dict[str, Tensor]:
        rotmat = params['pred_pose']
        body = self.body_model(betas=params['pred_betas'],
                               body_pose=rotmat[:, 1:],
                               global_orient=rotmat[:, :1])
        body['keypoints_2d'] = weak_perspective_projection(body['joints'], params['pred_cam'])
        return body

    @staticmethod
    def _stack(data_samples: List[BaseDataElement], key: str, like: Tensor) -> Tensor:
        return torch.stack([torch.as_tensor(s.get(key)) for s in data_samples]).to(like)

    def loss(self, inputs: Tensor, data_samples: List[BaseDataElement]) -> Dict[str, Tensor]:
        """Losses of a batch; the ground truth is in crop pixels and normalised here."""
        params = self._forward(inputs)
        body = self._pose_mesh(params)
        ref = params['pred_betas']
        kp2d = self._stack(data_samples, 'gt_keypoints_2d', ref).clone()
        size = kp2d.new_tensor([inputs.shape[-1], inputs.shape[-2]])
        kp2d[..., :2] = 2 * kp2d[..., :2] / size - 1
        gt = dict(keypoints_2d=kp2d,
                  keypoints_3d=self._stack(data_samples, 'gt_keypoints_3d', ref),
                  has_keypoints_3d=self._stack(data_samples, 'has_keypoints_3d', ref),
                  pose=self._stack(data_samples, 'gt_pose', ref),
                  betas=self._stack(data_samples, 'gt_betas', ref),
                  has_smpl=self._stack(data_samples, 'has_smpl', ref))
        pred = dict(keypoints_2d=body['keypoints_2d'],
                    joints=body['joints'],
                    pose=params['pred_pose'],
                    betas=params['pred_betas'],
                    cam=params['pred_cam'])
        return self.loss_module(pred, gt)

    def predict(self, inputs: Tensor, data_samples: List[BaseDataElement]) -> List[BaseDataElement]:
        """Predictions, added to the data samples: ``pred_pose`` (24, 3, 3), ``pred_betas``
        (10, ), ``pred_cam`` (3, ), ``pred_joints`` (24, 3) and ``pred_keypoints_2d``
        (24, 2) in crop pixels, ``pred_eval_joints`` (14, 3) in meters relative to the pelvis
        (the joints of :class:`MeshMetric`), and ``pred_vertices`` (6890, 3) with
        ``test_cfg=dict(output_vertices=True)``."""
        params = self._forward(inputs)
        body = self._pose_mesh(params)
        size = inputs.new_tensor([inputs.shape[-1], inputs.shape[-2]])
        kp2d = (body['keypoints_2d'] + 1) * size / 2
        eval_joints = self.body_model.eval_joints(body['vertices'])
        for i, sample in enumerate(data_samples):
            sample.set_field(params['pred_pose'][i], 'pred_pose')
            sample.set_field(params['pred_betas'][i], 'pred_betas')
            sample.set_field(params['pred_cam'][i], 'pred_cam')
            sample.set_field(body['joints'][i], 'pred_joints')
            sample.set_field(kp2d[i], 'pred_keypoints_2d')
            sample.set_field(eval_joints[i], 'pred_eval_joints')
            if self.test_cfg.get('output_vertices', False):
                sample.set_field(body['vertices'][i], 'pred_vertices')
        return data_samples

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], list]:
        """mmengine's entry: ``mode`` is ``'loss'``, ``'predict'`` or ``'tensor'``."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            if data_samples is None:
                data_samples = [BaseDataElement() for _ in range(inputs.shape[0])]
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}": only "loss", "predict" and "tensor".')
