"""Tiny detection / instance segmentation set in the COCO instances format."""
import os.path as osp

import numpy as np

from .drawing import (SHAPE_COLOURS, fill_polygon, jitter_colour, noisy_background, place_circles,
                      shape_polygon)
from .writers import (coco_categories, coco_image, mask_box, reset_dir, split_counts, write_image,
                      write_json)

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
    reset_dir(out_dir)
    counts = {}
    for s, (split, num) in enumerate(split_counts(num_train, num_val)):
        images, annotations = [], []
        for i in range(num):
            image_id = s * 1_000_000 + i + 1
            file_name = f'{image_id:012d}.jpg'
            # The first image has no object: models and metrics must cope with empty images.
            num_objects = 0 if i == 0 else int(rng.integers(1, 5))
            img, objects = draw_detection_image(rng, num_objects)
            write_image(osp.join(out_dir, f'{split}2017', file_name), img)
            images.append(coco_image(image_id, file_name, *img.shape[:2]))
            for obj in objects:
                annotations.append(
                    dict(obj, id=len(annotations) + 1 + s * 1_000_000, image_id=image_id,
                         iscrowd=0))
        write_json(
            osp.join(out_dir, 'annotations', f'instances_{split}2017.json'),
            dict(images=images, annotations=annotations, categories=coco_categories(DET_CLASSES)))
        counts[split] = dict(images=len(images), instances=len(annotations))
    return counts
