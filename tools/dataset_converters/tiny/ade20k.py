"""Tiny ADE20K semantic segmentation set (ADEChallengeData2016 layout)."""
import os.path as osp

import numpy as np

from .drawing import fill_polygon, jitter_colour, noisy_background, place_circles, shape_polygon
from .writers import reset_dir, split_counts, write_image, write_png

# ADE20K label ids (1-based, 0 = "other") and the shapes drawn for them.
ADE_IDS = {'other': 0, 'wall': 1, 'floor': 4, 'painting': 23, 'clock': 149, 'flag': 150}
ADE_SHAPES = (('painting', 'square'), ('clock', 'circle'), ('flag', 'triangle'))
ADE_COLOURS = {
    'other': (0, 0, 0),
    'wall': (200, 190, 160),
    'floor': (120, 80, 50),
    'painting': (60, 200, 70),
    'clock': (220, 60, 60),
    'flag': (60, 90, 230),
}


def draw_ade_scene(rng, size=128):
    """Wall above a random horizon, floor below, 1-3 shapes, a 2-pixel 'other' frame."""
    horizon = int(rng.uniform(0.55, 0.8) * size)
    label = np.full((size, size), ADE_IDS['wall'], np.uint8)
    label[horizon:] = ADE_IDS['floor']
    # A weak gradient keeps every region's mean colour closest to its class colour.
    img = noisy_background(rng, size, size, jitter_colour(rng, ADE_COLOURS['wall'], 20), 10)
    floor = noisy_background(rng, size, size, jitter_colour(rng, ADE_COLOURS['floor'], 20), 10)
    img[horizon:] = floor[horizon:]
    for cx, cy, r in place_circles(rng, int(rng.integers(1, 4)), size, size, 10, 28):
        name, kind = ADE_SHAPES[int(rng.integers(len(ADE_SHAPES)))]
        polygon = shape_polygon(kind, cx, cy, r, rng.uniform(0, 2 * np.pi))
        mask = fill_polygon(img, polygon, jitter_colour(rng, ADE_COLOURS[name]))
        label[mask] = ADE_IDS[name]
    # Unlabelled pixels exist in real ADE20K too; the frame exercises reduce_zero_label.
    for arr, value in ((label, ADE_IDS['other']), (img, ADE_COLOURS['other'])):
        arr[:2], arr[-2:], arr[:, :2], arr[:, -2:] = value, value, value, value
    return img, label


def make_ade20k(out_dir, rng, num_train=128, num_val=32):
    """ADEChallengeData2016 layout: JPEG images and uint8 PNG label maps with ADE ids."""
    reset_dir(out_dir)
    root = osp.join(out_dir, 'ADEChallengeData2016')
    counts = {}
    for split, num in split_counts(num_train, num_val):
        folder, tag = ('training', 'train') if split == 'train' else ('validation', 'val')
        for i in range(num):
            img, label = draw_ade_scene(rng)
            stem = f'ADE_{tag}_{i + 1:08d}'
            write_image(osp.join(root, 'images', folder, f'{stem}.jpg'), img)
            write_png(osp.join(root, 'annotations', folder, f'{stem}.png'), label)
        counts[split] = dict(images=num)
    return counts
