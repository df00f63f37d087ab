"""3D human mesh recovery with TCFormer and the HMR head (CVPR 2022, section 4.2).

Importing the package registers its modules into mmpose's registries (the configs'
``default_scope='mmpose'``).
"""
from .body_model import SMPLBodyModel
from .hmr_head import HMRHead
from .losses import HMRLoss
from .mesh_dataset import MeshDataset
from .mesh_estimator import HMRMeshEstimator
from .mesh_metric import MeshMetric
from .mesh_transforms import MeshTopdownAffine, PackMeshInputs, RandomMeshAugment
from .mixed_sampler import MixedRatioSampler

__all__ = [
    'SMPLBodyModel', 'HMRHead', 'HMRLoss', 'HMRMeshEstimator', 'MeshDataset', 'MeshMetric',
    'MeshTopdownAffine', 'PackMeshInputs', 'RandomMeshAugment', 'MixedRatioSampler'
]
