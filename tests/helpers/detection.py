"""Helpers shared by the detection tests: configs, models and synthetic COCO-style batches."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import tcformer_mm  # noqa: F401  (registers the backbone and the neck)

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'detection' / 'tcformer'
TINY_RETINANET = 'configs/tiny/retinanet_tcformerv2-t_mta_1xb4_tiny-coco.py'
TINY_MASK_RCNN = 'configs/tiny/mask-rcnn_tcformerv2-t_mta_1xb4_tiny-coco.py'

#: TPAMI Table VII: config -> #Param in millions.
TABLE_VII_PARAMS = {
    'retinanet_tcformerv2-t_mta_1x_coco.py': 23.1,
    'retinanet_tcformerv2-s_mta_1x_coco.py': 34.5,
    'retinanet_tcformerv2-b_mta_1x_coco.py': 72.4,
    'mask-rcnn_tcformerv2-t_mta_1x_coco.py': 34.1,
    'mask-rcnn_tcformerv2-s_mta_1x_coco.py': 46.5,
    'mask-rcnn_tcformerv2-s_mta_3x_coco.py': 46.5,
    'mask-rcnn_tcformerv2-b_mta_3x_coco.py': 83.7,
}


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Run a test module with one intra-op thread.

    The token transforms sum rows with ``index_add_``, which torch's CPU kernel parallelises;
    on a 2-core machine shared with other jobs, two threads made these tests about 5x slower
    than one (measured: test_configs.py 263 s against 49 s).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load_config(config, **cfg_options):
    """Read a config (path relative to the repository root, or absolute)."""
    cfg = Config.fromfile(str(ROOT / config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_detector(config, seed=0, init_weights=True, **cfg_options):
    """Build the detector of ``config`` without pre-training.

    ``init_weights=False`` keeps PyTorch's default initialisation: enough for shapes and
    parameter counts, and it saves the seconds the init (and its log) takes on big models.
    """
    init_default_scope('mmdet')
    cfg = load_config(config, **cfg_options)
    cfg.model.backbone.pop('init_cfg', None)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if init_weights:
        model.init_weights()
    return model


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def synthetic_sample(h, w, boxes=(), labels=(), with_mask=False, seed=0):
    """An image (uint8, 3 x h x w) and its DetDataSample with ``boxes`` drawn into it.

    Each box is filled with a colour, so it is visible; its mask is the box.
    """
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 60, size=(3, h, w), dtype=np.uint8)
    masks = np.zeros((len(boxes), h, w), np.uint8)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        image[:, int(y0):int(y1), int(x0):int(x1)] = rng.integers(120, 255, size=(3, 1, 1))
        masks[i, int(y0):int(y1), int(x0):int(x1)] = 1
    sample = DetDataSample(
        metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0), img_id=seed))
    gt = InstanceData()
    gt.bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    gt.labels = torch.tensor(labels, dtype=torch.long)
    if with_mask:
        gt.masks = BitmapMasks(masks, h, w)
    sample.gt_instances = gt
    return torch.from_numpy(image), sample


def batch(specs, with_mask=False):
    """A data batch as a dataloader yields it: ``specs`` is a list of (h, w, boxes, labels)."""
    inputs, samples = [], []
    for i, (h, w, boxes, labels) in enumerate(specs):
        image, sample = synthetic_sample(h, w, boxes, labels, with_mask=with_mask, seed=i)
        inputs.append(image)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def loss_step(model, data, backward=True):
    """Preprocess ``data`` (padding included), compute the losses, back-propagate their sum.

    Returns:
        tuple: The parsed losses (``loss`` is the total) and the padded batch shape.
    """
    model.train()
    processed = model.data_preprocessor(data, True)
    with torch.set_grad_enabled(backward):
        losses = model(**processed, mode='loss')
        total, parsed = model.parse_losses(losses)
    if backward:
        total.backward()
    return parsed, tuple(processed['inputs'].shape)


def predict(model, data):
    model.eval()
    with torch.no_grad():
        processed = model.data_preprocessor(data, False)
        return model(**processed, mode='predict'), tuple(processed['inputs'].shape)
