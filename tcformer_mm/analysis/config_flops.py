"""FLOPs of the whole model of an OpenMMLab config (any of the four codebases)."""
import inspect
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from .flops import FlopsResult, count_flops

#: The data-sample class of every codebase whose ``mode='tensor'`` forward may read meta info.
DATA_SAMPLES = {
    'mmdet': 'mmdet.structures.DetDataSample',
    'mmseg': 'mmseg.structures.SegDataSample',
    'mmpose': 'mmpose.structures.PoseDataSample',
    'mmpretrain': 'mmpretrain.structures.DataSample',
}


def build_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` in the config's ``default_scope``, without loading weights.

    Pre-trained weights do not change a FLOPs count, so every ``init_cfg`` stays unused
    (``init_weights`` is not called): counting works without the checkpoints.

    Raises:
        ValueError: If the config has no ``model`` or the model cannot be built (the message
            names the config's problem).
    """
    import tcformer_mm  # noqa: F401  (registers our modules in every codebase)
    if 'model' not in cfg:
        raise ValueError(f'{cfg.filename}: the config has no `model`')
    scope = cfg.get('default_scope', None)
    if scope is not None:
        init_default_scope(scope)
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        try:
            model = MODELS.build(cfg.model)
        except Exception as e:  # the registry wraps any constructor error; re-raise readably
            raise ValueError(f'cannot build the model of {cfg.filename}: '
                             f'{type(e).__name__}: {e}') from e
    return model


def default_hw(cfg: Config) -> Tuple[int, int]:
    """The input (H, W) a config's model is usually counted at.

    mmpose: the codec's ``input_size`` (W, H); mmseg: ``crop_size``; mmdet: 800 x 1333 (the
    COCO test scale); otherwise 224 x 224 (ImageNet).
    """
    scope = cfg.get('default_scope', None)
    if scope == 'mmpose' and 'codec' in cfg and 'input_size' in cfg.codec:
        w, h = cfg.codec.input_size
        return int(h), int(w)
    if scope == 'mmseg' and 'crop_size' in cfg:
        h, w = cfg.crop_size
        return int(h), int(w)
    if scope == 'mmdet':
        return 800, 1333
    return 224, 224


def _data_samples(scope: str, hw: Tuple[int, int]):
    """One data sample with the meta info the heads' ``mode='tensor'`` forwards read."""
    path = DATA_SAMPLES.get(scope)
    if path is None:
        return None
    module, _, name = path.rpartition('.')
    cls = getattr(__import__(module, fromlist=[name]), name)
    meta = dict(img_shape=hw,
                ori_shape=hw,
                pad_shape=hw,
                batch_input_shape=hw,
                input_size=(hw[1], hw[0]),
                scale_factor=(1.0, 1.0),
                flip=False)
    return [cls(metainfo=meta)]


def config_flops(cfg: Config,
                 hw: Tuple[int, int],
                 in_channels: int = 3,
                 convention: str = 'papers',
                 depth: int = 1) -> FlopsResult:
    """FLOPs and parameters of the config's model for one (in_channels, H, W) image.

    The model runs its ``mode='tensor'`` forward (backbone, neck and head, no
    post-processing) on a random image, as mmdet/mmseg's ``get_flops`` tools do.

    Args:
        cfg (Config): A loaded config.
        hw (tuple[int, int]): Input (H, W).
        in_channels (int): Input channels. Defaults to 3.
        convention (str): ``'papers'`` (default) or ``'full'``, see
            :class:`~tcformer_mm.analysis.FlopCounter`.
        depth (int): Module-name depth of the per-module breakdown. Defaults to 1.

    Returns:
        FlopsResult: The count.
    """
    model = build_model(cfg)
    scope = cfg.get('default_scope', None)
    samples = _data_samples(scope, hw)
    inputs = torch.randn(1, in_channels, *hw)

    def forward(model, inputs):
        with DefaultScope.overwrite_default_scope(scope):
            if samples is None:
                return model(inputs)
            head = getattr(model, 'decode_head', None)
            if head is not None and 'batch_data_samples' in inspect.signature(
                    head.forward).parameters:
                # mmseg's tensor mode calls the decode head without data samples, which
                # Mask2Former's head needs (mmseg's own get_flops gives up on it).
                return head(model.extract_feat(inputs), samples)
            return model(inputs, samples, mode='tensor')

    return count_flops(model, inputs, forward, convention=convention, depth=depth)
