"""Draw the dynamic tokens of a TCFormer backbone on an image (papers' Fig. 1, 5, 8, 15).

For every stage it writes ``stage<i>_tokens.png``: each token's image region in the token's
mean colour with the token borders drawn; ``density.png``: the relative token density
(geometric mean over the stages with clustered tokens; red = many small tokens, blue = few
large ones, see ``tcformer_mm.visualization.token_density``); and ``summary.png``: the input,
the stages and the density side by side.

The config may be any codebase's (classification, detection, segmentation, pose): only its
``model.backbone`` (a TCFormer), ``model.data_preprocessor`` (mean, std, channel order) and
test pipeline (the input size) are used. Without a checkpoint the backbone has random weights.

Example::

    python tools/visualization/vis_tokens.py \\
        configs/classification/tcformer/tcformerv2-small_8xb128_in1k.py \\
        work_dirs/tcformerv2-small/epoch_300.pth demo.jpg --out-dir vis/
"""
import argparse
import copy
import os
import os.path as osp
import sys
import warnings

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from tcformer_mm.checkpoint import load_checkpoint_file
from tcformer_mm.checkpoint.convert import (check_tcformer_checkpoint, load_converted_state_dict,
                                            mismatch_summary, tcformer_convert)
from tcformer_mm.engine.non_finite_hook import check_finite_weights
from tcformer_mm.models import TCFormer
from tcformer_mm.utils.launch import (add_cfg_options_argument, add_size_argument,
                                      add_trust_argument, apply_trust, load_config)
from tcformer_mm.visualization import stage_tokens, token_pictures

PROG = osp.basename(__file__)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the token regions and token density of a TCFormer backbone.')
    parser.add_argument('config', help='config file (any codebase) with a TCFormer backbone')
    parser.add_argument('paths',
                        nargs='+',
                        metavar='[CHECKPOINT] IMAGE',
                        help='optional checkpoint (model, backbone or released), then image')
    parser.add_argument('--out-dir', required=True, help='directory for the PNG files')
    add_size_argument(parser, help="input size; defaults to the config's test size")
    parser.add_argument('--device', default='cpu', help='device to run the backbone on')
    parser.add_argument('--no-borders', action='store_true', help='do not draw token borders')
    add_cfg_options_argument(parser)
    add_trust_argument(parser)
    args = parser.parse_args(argv)
    apply_trust(args)
    if len(args.paths) > 2:
        parser.error(f'expected [CHECKPOINT] IMAGE after the config, got {len(args.paths)} paths')
    if args.shape is not None and min(args.shape) <= 0:
        parser.error(f'--shape H W must be positive, got {args.shape[0]} {args.shape[1]}')
    args.checkpoint, args.image = (None, *args.paths) if len(args.paths) == 1 else args.paths
    return args


def read_image(path: str) -> np.ndarray:
    """Read an image file as RGB uint8, with an error naming the file if it is not one."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    try:
        image = mmcv.imread(path)  # None when OpenCV cannot decode the file
    except cv2.error:  # an empty file
        image = None
    if image is None:
        raise ValueError(f'{path} is not an image file OpenCV can read (e.g. PNG, JPEG)')
    return mmcv.bgr2rgb(image)


def _test_pipeline(cfg: Config) -> list:
    for key in ('test_dataloader', 'val_dataloader'):
        dataset = cfg.get(key, {}).get('dataset', {})
        while 'pipeline' not in dataset and 'dataset' in dataset:  # dataset wrappers
            dataset = dataset['dataset']
        if 'pipeline' in dataset:
            return dataset['pipeline']
    return cfg.get('test_pipeline', [])


def resize_to_test_size(image: np.ndarray, cfg: Config, shape=None) -> np.ndarray:
    """Resize (and crop) ``image`` as the config's test pipeline does, or to ``shape``.

    Understood: ``CenterCrop`` (short edge resized to the crop, then the centre crop:
    classification), ``TopdownAffine`` / the codec's ``input_size`` (pose), ``Resize`` with
    ``scale`` and ``keep_ratio`` (detection, segmentation).
    """
    if shape is not None:
        return mmcv.imresize(image, (shape[1], shape[0]))
    for transform in _test_pipeline(cfg):
        kind = transform.get('type', '')
        if kind == 'CenterCrop':
            crop = transform['crop_size']
            crop_w, crop_h = (crop, crop) if isinstance(crop, int) else crop
            h, w = image.shape[:2]
            scale = max(crop_h / h, crop_w / w)
            image = mmcv.imresize(image,
                                  (max(crop_w, round(w * scale)), max(crop_h, round(h * scale))))
            h, w = image.shape[:2]
            top, left = (h - crop_h) // 2, (w - crop_w) // 2
            return image[top:top + crop_h, left:left + crop_w]
        if kind == 'TopdownAffine':
            w, h = transform['input_size'] if 'input_size' in transform else cfg.codec['input_size']
            return mmcv.imresize(image, (w, h))
        if kind == 'Resize' and 'scale' in transform:
            scale = transform['scale']
            if transform.get('keep_ratio', False):
                return mmcv.imrescale(image, scale)
            scale = (scale, scale) if isinstance(scale, int) else scale
            return mmcv.imresize(image, tuple(scale))
    raise ValueError('cannot tell the input size from the test pipeline of the config (no '
                     'CenterCrop, TopdownAffine or Resize with a scale): pass --shape H W')


def build_backbone(cfg: Config, checkpoint=None, device='cpu') -> TCFormer:
    """Build the config's TCFormer backbone (all stages, token output) and load weights."""
    scope = cfg.get('default_scope', 'mmpretrain')
    init_default_scope(scope)
    backbone_cfg = copy.deepcopy(cfg.get('model', {}).get('backbone'))
    if backbone_cfg is None:
        raise ValueError('the config has no model.backbone')
    backbone_type = backbone_cfg.get('type')
    with MODELS.switch_scope_and_registry(scope) as registry:
        backbone_cls = (registry.get(backbone_type)
                        if isinstance(backbone_type, str) else backbone_type)
    if not (isinstance(backbone_cls, type) and issubclass(backbone_cls, TCFormer)):
        name = getattr(backbone_cls, '__name__', backbone_type)
        raise TypeError(f'the config\'s backbone is {name}, not TCFormer: only TCFormer has '
                        'dynamic tokens to draw')
    # The config's init_cfg may name pre-training weights that are not here; the checkpoint
    # argument is the one source of weights.
    backbone_cfg.update(out_indices=(0, 1, 2, 3), output_format='tokens', init_cfg=None)
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    if checkpoint is None:
        warnings.warn('no checkpoint given: the backbone has random weights')
    else:
        ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
        check_tcformer_checkpoint(ckpt, source=checkpoint)
        state_dict = tcformer_convert(ckpt)
        problem = mismatch_summary(backbone, state_dict)
        if problem is not None:
            raise ValueError(f'{checkpoint} does not fit the backbone of the config: {problem}')
        load_converted_state_dict(backbone, state_dict, source=checkpoint)
        check_finite_weights(backbone, checkpoint)
    return backbone.to(device).eval()


def model_inputs(image: np.ndarray, cfg: Config, device='cpu') -> torch.Tensor:
    """Normalise an RGB uint8 image as the config's data preprocessor does: (1, 3, H, W)."""
    pre = cfg.get('model', {}).get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    if 'mean' not in pre or 'std' not in pre:
        raise ValueError('the config\'s model.data_preprocessor has no mean / std')
    # The codebases load BGR; a preprocessor that converts channels gives the model RGB.
    to_rgb = pre.get('to_rgb', False) or pre.get('bgr_to_rgb', False)
    pixels = image if to_rgb else image[..., ::-1]
    x = (pixels.astype(np.float32) - np.asarray(pre['mean'], np.float32)) / np.asarray(
        pre['std'], np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(device)


def main(argv=None):
    args = parse_args(argv)
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        sys.exit(f'{PROG}: --out-dir {args.out_dir} is a file, not a directory')
    try:
        image = read_image(args.image)
        if args.checkpoint is not None and not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
        cfg = load_config(args.config, args.cfg_options)
        image = resize_to_test_size(image, cfg, args.shape)
        backbone = build_backbone(cfg, args.checkpoint, args.device)
        tokens = stage_tokens(backbone, model_inputs(image, cfg, args.device))
    except (FileNotFoundError, TypeError, ValueError) as e:
        sys.exit(f'{PROG}: {e}')
    pictures = token_pictures(image, tokens, border_color=None if args.no_borders else (0, 0, 0))

    os.makedirs(args.out_dir, exist_ok=True)
    files = {f'stage{i + 1}_tokens.png': p for i, p in enumerate(pictures['regions'])}
    files.update({'density.png': pictures['density'], 'summary.png': pictures['summary']})
    for name, picture in files.items():
        mmcv.imwrite(picture[..., ::-1], osp.join(args.out_dir, name))  # RGB -> BGR file
    h, w = image.shape[:2]
    print(f'input {h}x{w}; tokens per stage: {[t.num_tokens for t in tokens]}; '
          f'wrote {len(files)} PNGs to {args.out_dir}')


if __name__ == '__main__':
    main()
