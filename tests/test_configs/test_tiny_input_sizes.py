"""The tiny configs feed TCFormerV2 inputs at which its local CTMs really cluster.

At 64 pixels a side the tokens of one ctm1 window read a single pixel of ctm2's stride-2 conv
map, and ctm2's clusters come out as exactly ctm1's windows (and ctm3's as ctm2's): stages 3
and 4 are a fixed grid (docs/design.md, "Input sizes").
"""
import glob
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tcformer_mm.models import TCFormer

ROOT = Path(__file__).resolve().parents[2]


def input_size(cfg):
    """(H, W) of the model input a tiny config's test pipeline produces."""
    if cfg.get('codec') is not None:  # top-down pose: the codec's (w, h)
        w, h = cfg.codec.input_size
        return h, w
    if cfg.get('crop_size') is not None:  # mmseg: the crop
        return tuple(cfg.crop_size)
    for step in cfg.test_pipeline:
        if step.type == 'CenterCrop':  # mmpretrain
            return step.crop_size, step.crop_size
        if step.type == 'Resize':  # mmdet: the longest side (square tiny images)
            return tuple(step.scale)
    raise AssertionError('no input size found')


def windows(grid, side):
    """For every initial cell, its window of an s x s split of the grid (raster order)."""
    h, w = grid
    rows = torch.arange(h).view(-1, 1) * side // h
    cols = torch.arange(w).view(1, -1) * side // w
    return (rows * side + cols).reshape(-1)


def window_tokens(tokens, side):
    """How many of the s x s windows are exactly one token (over the batch)."""
    win = windows(tokens.init_grid_size, side)
    count = 0
    for idx in tokens.idx_token:
        for k in range(side * side):
            inside = idx[win == k]
            if (inside == inside[0]).all() and (idx == inside[0]).sum() == len(inside):
                count += 1
    return count


def stage_windows(size):
    """Windows of ctm1 (4x4) that are one stage-3 token, and of ctm2 (2x2) one stage-4 token."""
    torch.manual_seed(0)
    model = TCFormer(arch='v2-tiny', output_format='tokens').eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, *size))
    return window_tokens(outs[2], 4), window_tokens(outs[3], 2)


def test_at_64_stages_3_and_4_are_the_windows():
    # 2 images x 16 windows, 2 images x 4 windows: all of them.
    assert stage_windows((64, 64)) == (32, 8)


V2_CONFIGS = [
    path for path in sorted(glob.glob(str(ROOT / 'configs/tiny/*.py')))
    if Config.fromfile(path).model.get('backbone', {}).get('arch', '').startswith('v2')
]


@pytest.mark.parametrize('path', V2_CONFIGS)
def test_tiny_v2_configs_cluster_every_stage(path):
    size = input_size(Config.fromfile(path))
    assert min(size) > 64, f'{path}: input {size}'
    assert stage_windows(size) == (0, 0)
