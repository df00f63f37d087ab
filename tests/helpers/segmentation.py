"""Helpers shared by the segmentation tests."""
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

import tcformer_mm  # noqa: F401  (registers the backbone, the necks and the pixel decoder)

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'segmentation' / 'tcformer'
TINY_FPN = 'configs/tiny/fpn_tcformerv2-tiny_crmta_1xb4_tiny-ade.py'
TINY_MASK2FORMER = 'configs/tiny/mask2former_tcformerv2-tiny_crmta_1xb4_tiny-ade.py'


def load_config(config):
    """The config at ``config`` (a path), with the ImageNet pre-training left out.

    The full-size configs load backbone weights from a classification work dir that does not
    exist here; the tests build them from scratch.
    """
    cfg = Config.fromfile(str(config))
    cfg.model.backbone.init_cfg = None
    return cfg


def build_segmentor(config):
    """Build and initialise the segmentor of ``config``, in eval mode."""
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(load_config(config).model)
    model.init_weights()
    return model.eval()


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def seg_samples(batch, h, w, num_classes=150, seed=0):
    """SegDataSamples of (h, w) images with random labels, as the data pipeline packs them."""
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(batch):
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, h, w), generator=generator))
        samples.append(sample)
    return samples


def ade_val_labels(ade_root):
    """The tiny set's validation label maps, as train ids (reduce_zero_label: 0 -> 255)."""
    import cv2
    labels = []
    for path in sorted((Path(ade_root) / 'annotations' / 'validation').glob('*.png')):
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.int64)
        labels.append(np.where(raw == 0, 255, raw - 1))
    return labels


def constant_predictor_miou(labels):
    """The best mIoU (%) a predictor that outputs one class everywhere gets, as IoUMetric
    computes it over the set: the IoU of the chosen class is its pixel share, every other
    class present in the ground truth gets 0, absent classes do not count."""
    valid = np.concatenate([lab[lab != 255] for lab in labels])
    classes, counts = np.unique(valid, return_counts=True)
    return 100.0 * counts.max() / valid.size / len(classes)
