"""Tiny WFLW face alignment set in mmpose's COCO-style json."""
import math
import os.path as osp

import cv2
import numpy as np

from .drawing import jitter_colour, noisy_background, random_colour, rotate
from .writers import (coco_image, keypoint_triplets, part_box, reset_dir, split_counts, write_image,
                      write_json)

WFLW_NUM_KEYPOINTS = 98
WFLW_GROUP_COLOURS = {
    'contour': (255, 255, 255),
    'brow': (255, 255, 0),
    'nose': (0, 255, 255),
    'eye': (0, 255, 0),
    'mouth': (255, 0, 255),
    'pupil': (255, 0, 0),
}


def wflw_landmarks():
    """98 WFLW landmarks of a unit face (semi-axes 1 x 1.25), grouped for colouring.

    Returns (98, 2) points and the group name of each point. Subject's right = image left.
    """

    def ellipse(ox, oy, ax, ay, angles):
        return [(ox + ax * math.cos(t), oy + ay * math.sin(t)) for t in angles]

    pts = ellipse(0, 0, 1, 1.25, np.linspace(np.pi + 0.3, -0.3, 33))  # contour 0-32
    groups = ['contour'] * 33
    upper = np.linspace(-0.8, -0.2, 5)
    pts += [(u, -0.55 - 0.12 * math.sin(np.pi * (u + 0.8) / 0.6)) for u in upper]  # 33-37
    pts += [(u, -0.45 - 0.06 * math.sin(np.pi * (u + 0.8) / 0.6))
            for u in np.linspace(-0.25, -0.75, 4)]  # right brow lower 38-41
    pts += [(u, -0.55 - 0.12 * math.sin(np.pi * (u - 0.2) / 0.6))
            for u in np.linspace(0.2, 0.8, 5)]  # left brow upper 42-46
    pts += [(u, -0.45 - 0.06 * math.sin(np.pi * (u - 0.2) / 0.6))
            for u in np.linspace(0.75, 0.25, 4)]  # left brow lower 47-50
    groups += ['brow'] * 18
    pts += [(0, v) for v in np.linspace(-0.25, 0.2, 4)]  # nose bridge 51-54
    pts += [(u, 0.3) for u in np.linspace(-0.22, 0.22, 5)]  # nostrils 55-59
    groups += ['nose'] * 9
    eye = [np.pi + k * np.pi / 4 for k in range(4)] + [k * np.pi / 4 for k in range(4)]
    pts += ellipse(-0.42, -0.25, 0.24, 0.11, eye)  # right eye 60-67, 60 = outer corner
    pts += ellipse(0.42, -0.25, 0.24, 0.11, eye)  # left eye 68-75, 72 = outer corner
    groups += ['eye'] * 16
    outer = [np.pi + k * np.pi / 6 for k in range(6)] + [k * np.pi / 6 for k in range(6)]
    pts += ellipse(0, 0.62, 0.42, 0.18, outer)  # outer mouth 76-87
    pts += ellipse(0, 0.62, 0.28, 0.07, eye)  # inner mouth 88-95
    groups += ['mouth'] * 20
    pts += [(-0.42, -0.25), (0.42, -0.25)]  # pupils 96-97
    groups += ['pupil'] * 2
    return np.array(pts), groups


def draw_wflw_face(rng, size=128):
    """A face ellipse with brows, eyes, nose and mouth; returns the image and 98 landmarks."""
    unit, groups = wflw_landmarks()
    a = rng.uniform(0.16, 0.3) * size
    angle = rng.uniform(-0.3, 0.3)
    margin = 1.3 * a + 3
    centre = rng.uniform(margin, size - margin, size=2)
    pts = rotate(unit * a, angle, np.zeros(2)) + centre
    img = noisy_background(rng, size, size)
    axes = (int(round(a)), int(round(1.25 * a)))
    ctr = tuple(int(v) for v in np.round(centre))
    cv2.ellipse(img, ctr, axes, math.degrees(angle), 0, 360,
                jitter_colour(rng, (225, 180, 140), 25), -1)
    p = np.round(pts).astype(np.int32)
    brow_colour = random_colour(rng, 20, 110)
    for chain in (p[33:42], p[42:51]):
        cv2.polylines(img, [chain.reshape(-1, 1, 2)], True, brow_colour, 1)
    for chain in (p[60:68], p[68:76]):
        cv2.fillPoly(img, [chain.reshape(-1, 1, 2)], (245, 245, 245), lineType=cv2.LINE_8)
    cv2.polylines(img, [p[51:55].reshape(-1, 1, 2)], False, (150, 100, 80), 1)
    cv2.fillPoly(img, [p[76:88].reshape(-1, 1, 2)],
                 jitter_colour(rng, (190, 40, 60), 25),
                 lineType=cv2.LINE_8)
    for (x, y), group in zip(p, groups):
        img[y, x] = WFLW_GROUP_COLOURS[group]
    return img, pts


def make_wflw(out_dir, rng, num_train=128, num_val=32):
    """WFLW in mmpose's COCO-style json: 98 landmarks, ``center`` and ``scale`` (= size / 200)."""
    reset_dir(out_dir)
    counts = {}
    for s, (split, num) in enumerate(split_counts(num_train, num_val)):
        tag = 'train' if split == 'train' else 'test'
        images, annotations = [], []
        for i in range(num):
            image_id = s * 1_000_000 + i + 1
            file_name = f'{tag}_{i:04d}.jpg'
            img, pts = draw_wflw_face(rng)
            write_image(osp.join(out_dir, 'images', file_name), img)
            images.append(coco_image(image_id, file_name, *img.shape[:2]))
            box = part_box(pts, pad=1)
            centre = [box[0] + box[2] / 2, box[1] + box[3] / 2]
            annotations.append(
                dict(id=image_id,
                     image_id=image_id,
                     category_id=1,
                     iscrowd=0,
                     bbox=box,
                     area=box[2] * box[3],
                     keypoints=keypoint_triplets(pts),
                     num_keypoints=WFLW_NUM_KEYPOINTS,
                     center=centre,
                     scale=max(box[2], box[3]) / 200.0))
        write_json(
            osp.join(out_dir, 'annotations', f'face_landmarks_wflw_{tag}.json'),
            dict(images=images,
                 annotations=annotations,
                 categories=[dict(id=1, name='person', supercategory='person')]))
        counts[split] = dict(images=len(images))
    return counts
