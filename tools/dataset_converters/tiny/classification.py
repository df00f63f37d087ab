"""Tiny classification set in the mmpretrain ImageNet layout."""
import os.path as osp

import numpy as np

from .drawing import SHAPE_COLOURS, fill_polygon, jitter_colour, noisy_background, shape_polygon
from .writers import reset_dir, split_counts, write_image, write_lines

CLS_CLASSES = ('circle', 'square', 'triangle', 'cross')


def draw_classification_image(rng, kind, size=96):
    """One shape of class ``kind`` on a noisy background."""
    img = noisy_background(rng, size, size)
    radius = rng.uniform(0.18, 0.42) * size
    margin = radius + 2
    cx, cy = rng.uniform(margin, size - margin, size=2)
    polygon = shape_polygon(kind, cx, cy, radius, rng.uniform(0, 2 * np.pi))
    fill_polygon(img, polygon, jitter_colour(rng, SHAPE_COLOURS[kind]))
    return img


def make_classification(out_dir, rng, num_train=128, num_val=32):
    """ImageNet-style folders and meta/*.txt for 4 shape classes (labels cycle over classes)."""
    reset_dir(out_dir)
    write_lines(osp.join(out_dir, 'meta', 'classes.txt'), CLS_CLASSES)
    counts = {}
    for split, num in split_counts(num_train, num_val):
        lines = []
        for i in range(num):
            label = i % len(CLS_CLASSES)
            kind = CLS_CLASSES[label]
            rel = f'{kind}/{kind}_{i:04d}.JPEG'
            write_image(osp.join(out_dir, split, rel), draw_classification_image(rng, kind))
            lines.append(f'{rel} {label}')
        write_lines(osp.join(out_dir, 'meta', f'{split}.txt'), lines)
        counts[split] = dict(images=num)
    return counts
