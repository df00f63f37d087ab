"""Tiny detection / instance segmentation set in the COCO instances format."""
import numpy as np

from .drawing import (SHAPE_COLOURS, fill_polygon, jitter_colour, noisy_background, place_circles,
                      shape_polygon)
from .writers import coco_categories, mask_box, write_coco_splits

DET_CLASSES = ('circle', 'square', 'triangle')


def draw_detection_image(rng, num_objects, size=128):
    """Noisy background with non-overlapping shapes; returns the image and annotations.

    Shapes never overlap, so each annotated polygon is exactly what is visible.
    """
    img = noisy_background(rng, size, size)
    objects = []
    for cx, cy, r in place_circles(rng, num_objects, size, size, 8, 26):
        label = int(rng.integers(len(DET_CLASSES)))
        kind = DET_CLASSES[label]
        polygon = shape_polygon(kind, cx, cy, r, rng.uniform(0, 2 * np.pi))
        mask = fill_polygon(img, polygon, jitter_colour(rng, SHAPE_COLOURS[kind]))
        segmentation = [[float(v) for v in polygon.reshape(-1)]]
        objects.append(
            dict(category_id=label + 1,
                 bbox=mask_box(mask),
                 area=int(mask.sum()),
                 segmentation=segmentation))
    return img, objects


def make_coco_detection(out_dir, rng, num_train=128, num_val=32):
    """COCO instances (boxes + polygons) of 3 shape classes; image 0 of each split is empty."""

    def draw(i):
        # The first image has no object: models and metrics must cope with empty images.
        num_objects = 0 if i == 0 else int(rng.integers(1, 5))
        img, objects = draw_detection_image(rng, num_objects)
        return img, [dict(obj, iscrowd=0) for obj in objects]

    return write_coco_splits(out_dir, num_train, num_val, 'instances_{split}2017.json',
                             coco_categories(DET_CLASSES), draw)
