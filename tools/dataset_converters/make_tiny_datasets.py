"""Generate tiny synthetic datasets in the exact on-disk formats of the real ones.

The sets exist so that configs, data pipelines, training loops and evaluators of every
codebase tcformer_mm plugs into can be exercised end to end on a CPU in seconds, with no
download. Every image carries learnable signal: the class, box, mask or keypoints of each
annotation is drawn into the pixels (shapes and dots in class-specific colours), so that a
few hundred training iterations can show learning and the metrics can beat chance.

Usage::

    python tools/dataset_converters/make_tiny_datasets.py [--out data/tiny] [--seed 0]
        [--only NAME ...] [--num-train N --num-val M]

Each set has 128 training and 32 validation images unless ``--num-train``/``--num-val`` say
otherwise; all six take a few seconds. Output is deterministic: the same seed gives
byte-identical files with the same OpenCV build (each set draws from its own generator seeded
with ``(seed, set index)``, so ``--only`` gives the same files as a full run). Each set's
folder is deleted and rewritten, so a run is idempotent.

Layout under ``--out`` and the dataset classes that read it:

``imagenet/`` (mmpretrain ``ImageNet``, 4 classes, 64x64)::

    train/<class>/<class>_0000.JPEG   val/<class>/<class>_0000.JPEG
    meta/train.txt  meta/val.txt      "<class>/<file>.JPEG <label>" per line
    meta/classes.txt                  one class name per line, in label order

    dict(type='ImageNet', data_root=..., split='train' | 'val',
         metainfo=dict(classes=('circle', 'square', 'triangle', 'cross')))

``coco/`` (mmdet ``CocoDataset``, 3 classes, 128x128, 0-4 objects, polygon masks)::

    train2017/*.jpg  val2017/*.jpg
    annotations/instances_train2017.json  annotations/instances_val2017.json

    dict(type='CocoDataset', data_root=..., ann_file='annotations/instances_train2017.json',
         data_prefix=dict(img='train2017/'),
         metainfo=dict(classes=('circle', 'square', 'triangle')))

``coco_kpt/`` (mmpose ``CocoDataset``, 17 COCO keypoints, 128x128, 1-2 stick figures)::

    train2017/*.jpg  val2017/*.jpg
    annotations/person_keypoints_train2017.json  annotations/person_keypoints_val2017.json

    dict(type='CocoDataset', data_root=..., data_mode='topdown',
         ann_file='annotations/person_keypoints_train2017.json',
         data_prefix=dict(img='train2017/'))

``coco_wholebody/`` (mmpose ``CocoWholeBodyDataset``, 133 keypoints, 192x192, 1 figure)::

    train2017/*.jpg  val2017/*.jpg
    annotations/coco_wholebody_train_v1.0.json  annotations/coco_wholebody_val_v1.0.json

    dict(type='CocoWholeBodyDataset', data_root=..., data_mode='topdown',
         ann_file='annotations/coco_wholebody_train_v1.0.json',
         data_prefix=dict(img='train2017/'))

``ade/ADEChallengeData2016/`` (mmseg ``ADE20KDataset``, 128x128)::

    images/training/*.jpg       annotations/training/*.png
    images/validation/*.jpg     annotations/validation/*.png

    dict(type='ADE20KDataset', data_root=..., data_prefix=dict(
         img_path='images/training', seg_map_path='annotations/training'))

  Label maps use ADE20K's ids (0 = "other", ignored through ``reduce_zero_label``): a 2-pixel
  frame of 0, 1 'wall' above a random horizon, 4 'floor' below it, and shapes 23 'painting'
  (squares), 149 'clock' (circles), 150 'flag' (triangles); after ``reduce_zero_label`` they
  are train ids 0, 3, 22, 148, 149.

``wflw/`` (mmpose ``WFLWDataset``, 98 landmarks, 128x128, one face per image)::

    images/train_0000.jpg  images/test_0000.jpg
    annotations/face_landmarks_wflw_train.json  annotations/face_landmarks_wflw_test.json

    dict(type='WFLWDataset', data_root=..., data_mode='topdown',
         ann_file='annotations/face_landmarks_wflw_train.json', data_prefix=dict(img='images/'))

Keypoint figures face the camera, so a person's left side is on the image's right as in the
real sets, and left/right twins share a dot colour: a horizontal flip with the codebases'
``flip_indices`` therefore maps images to images that obey the same convention.
"""
import argparse
import json
import math
import os
import os.path as osp
import shutil
import time

import cv2
import numpy as np

JPEG_QUALITY = 95

# Class palettes (RGB): each class gets its own hue, jittered per object, so colour as well as
# shape identifies the class and a small model learns it within a few hundred iterations.
SHAPE_COLOURS = {
    'circle': (220, 60, 60),
    'square': (60, 200, 70),
    'triangle': (60, 90, 230),
    'cross': (230, 210, 50),
}
CLS_CLASSES = ('circle', 'square', 'triangle', 'cross')
DET_CLASSES = ('circle', 'square', 'triangle')

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

COCO_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                  'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
COCO_SKELETON = ([16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
                 [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7])
# One colour per body joint type; left/right twins share it (see the module docstring).
BODY_DOT_COLOURS = ((255, 0, 0), (255, 255, 0), (255, 255, 0), (0, 255, 255), (0, 255, 255),
                    (255, 0, 255), (255, 0, 255), (0, 255, 0), (0, 255, 0), (255, 128, 0),
                    (255, 128, 0), (0, 0, 255), (0, 0, 255), (128, 0, 255), (128, 0, 255),
                    (0, 128, 128), (0, 128, 128))
FOOT_DOT_COLOUR = (255, 255, 255)
FACE_DOT_COLOUR = (255, 255, 255)
FINGER_DOT_COLOURS = ((255, 0, 0), (255, 255, 0), (0, 255, 0), (0, 255, 255), (255, 0, 255))

WFLW_NUM_KEYPOINTS = 98
WFLW_GROUP_COLOURS = {
    'contour': (255, 255, 255),
    'brow': (255, 255, 0),
    'nose': (0, 255, 255),
    'eye': (0, 255, 0),
    'mouth': (255, 0, 255),
    'pupil': (255, 0, 0),
}

# Also the output folder names. The position seeds each set's generator: append, never reorder.
SET_NAMES = ('imagenet', 'coco', 'coco_kpt', 'coco_wholebody', 'ade', 'wflw')


# ------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------
def write_image(path, rgb):
    """Write an RGB uint8 image as JPEG (fixed settings, so bytes are reproducible).

    Chroma is not subsampled: small shapes and one-pixel keypoint dots keep their colour.
    """
    os.makedirs(osp.dirname(path), exist_ok=True)
    params = [
        cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
    ]
    ok = cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1]), params)
    if not ok:
        raise OSError(f'could not write {path}')


def write_png(path, array):
    """Write a uint8 label map losslessly."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, array, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f'could not write {path}')


def write_json(path, obj):
    """Write JSON with sorted keys and no whitespace, so bytes depend only on content."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, sort_keys=True, separators=(',', ':'))


def write_lines(path, lines):
    """Write text lines with a trailing newline."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def noisy_background(rng, height, width, base=None, gradient=30):
    """Textured background: a (by default low-saturation grey) base, a gradient, noise."""
    if base is None:
        base = rng.uniform(40, 160) + rng.uniform(-15, 15, size=3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    direction = rng.uniform(-1, 1, size=2)
    ramp = gradient * (direction[0] * xx / width + direction[1] * yy / height)
    img = np.asarray(base, np.float32)[None, None, :] + ramp[..., None]
    img = img + rng.normal(0, 8, size=(height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def jitter_colour(rng, colour, amount=30):
    """A class colour with per-object jitter, as a tuple of Python ints (what cv2 wants)."""
    jittered = np.clip(np.asarray(colour) + rng.integers(-amount, amount + 1, size=3), 0, 255)
    return tuple(int(c) for c in jittered)


def random_colour(rng, low=60, high=255):
    """A random RGB colour as a tuple of Python ints."""
    return tuple(int(c) for c in rng.integers(low, high, size=3))


def rotate(points, angle, centre):
    """Rotate (N, 2) points by ``angle`` radians about ``centre``."""
    c, s = math.cos(angle), math.sin(angle)
    rel = np.asarray(points, np.float64) - centre
    return np.stack([c * rel[:, 0] - s * rel[:, 1], s * rel[:, 0] + c * rel[:, 1]], 1) + centre


def shape_polygon(kind, cx, cy, radius, angle):
    """Polygon (N, 2) of a shape inscribed in a circle of ``radius`` at (cx, cy).

    Coordinates are COCO's (pixel i spans [i, i + 1)), rounded to 0.01 so the JSON holds
    exactly the polygon that was drawn.
    """
    if kind == 'circle':
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * radius
    elif kind == 'square':
        t = np.pi / 4 + np.arange(4) * np.pi / 2
        pts = np.stack([np.cos(t), np.sin(t)], 1) * radius
    elif kind == 'triangle':
        t = -np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        pts = np.stack([np.cos(t), np.sin(t)], 1) * radius
    elif kind == 'cross':
        a, w = radius * 0.95, radius * 0.3
        pts = np.array([[w, -a], [w, -w], [a, -w], [a, w], [w, w], [w, a], [-w, a], [-w, w],
                        [-a, w], [-a, -w], [-w, -w], [-w, -a]])
    else:
        raise ValueError(f'unknown shape {kind!r}')
    return np.round(rotate(pts, angle, np.zeros(2)) + (cx, cy), 2)


def polygon_mask(polygon, height, width):
    """Pixels whose centres lie inside ``polygon`` (even-odd rule).

    This is how pycocotools rasterises COCO polygons, so the drawn pixels and the masks that
    mmdet decodes from the annotation agree up to rare boundary pixels.
    """
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    inside = np.zeros((height, width), bool)
    for (ax, ay), (bx, by) in zip(polygon, np.roll(polygon, -1, 0)):
        if ay == by:
            continue  # a horizontal edge crosses no horizontal ray
        crosses = (ay > yy) != (by > yy)
        inside ^= crosses & (xx < ax + (yy - ay) * (bx - ax) / (by - ay))
    return inside


def fill_polygon(canvas, polygon, value):
    """Paint ``polygon`` with hard edges; return the painted mask (what is annotated)."""
    mask = polygon_mask(polygon, *canvas.shape[:2])
    canvas[mask] = value
    return mask


def place_circles(rng, count, height, width, r_min, r_max, margin=3, tries=200):
    """Sample up to ``count`` non-overlapping circles (cx, cy, r) inside the image."""
    circles = []
    for _ in range(tries):
        if len(circles) == count:
            break
        r = rng.uniform(r_min, r_max)
        cx = rng.uniform(r + margin, width - r - margin)
        cy = rng.uniform(r + margin, height - r - margin)
        if all(math.hypot(cx - x, cy - y) > r + q + margin for x, y, q in circles):
            circles.append((cx, cy, r))
    return circles


def mask_box(mask):
    """Tight COCO box [x, y, w, h] of a binary mask's pixels."""
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]


def split_counts(num_train, num_val):
    """The (split name, count) pairs every generator iterates over."""
    return (('train', num_train), ('val', num_val))


def reset_dir(path):
    """Delete and recreate a set's folder so a rerun leaves no stale files."""
    if osp.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


# ------------------------------------------------------------------------------------------
# 1. Classification (mmpretrain ImageNet layout)
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# 2. Detection / instance segmentation (COCO instances)
# ------------------------------------------------------------------------------------------
def coco_categories(names, supercategory='shape'):
    """COCO ``categories`` with ids 1..N."""
    return [dict(id=i + 1, name=n, supercategory=supercategory) for i, n in enumerate(names)]


def coco_image(image_id, file_name, height, width):
    """A COCO ``images`` entry."""
    return dict(id=image_id, file_name=file_name, height=height, width=width)


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


# ------------------------------------------------------------------------------------------
# Stick figures shared by COCO keypoints and COCO-WholeBody
# ------------------------------------------------------------------------------------------
def limb_end(start, length, angle, side):
    """End of a limb leaving ``start``, ``angle`` radians outward from straight down."""
    return start + length * np.array([side * math.sin(angle), math.cos(angle)])


def face_points(centre, r):
    """68 iBUG face landmarks on a head of radius ``r`` (subject's right on image left)."""
    cx, cy = centre

    def ellipse(ox, oy, ax, ay, angles):
        return [(cx + (ox + ax * math.cos(t)) * r, cy + (oy + ay * math.sin(t)) * r)
                for t in angles]

    pts = ellipse(0, 0.05, 0.85, 0.8, np.linspace(np.pi, 0, 17))  # jaw 0-16
    pts += [(cx + u * r, cy + (-0.4 - 0.1 * math.sin(np.pi * (u + 0.8) / 0.6)) * r)
            for u in np.linspace(-0.8, -0.2, 5)]  # right brow 17-21, outer to inner
    pts += [(cx + u * r, cy + (-0.4 - 0.1 * math.sin(np.pi * (u - 0.2) / 0.6)) * r)
            for u in np.linspace(0.2, 0.8, 5)]  # left brow 22-26, inner to outer
    pts += [(cx, cy + v * r) for v in np.linspace(-0.25, 0.2, 4)]  # nose bridge 27-30
    pts += [(cx + u * r, cy + 0.3 * r) for u in np.linspace(-0.25, 0.25, 5)]  # nostrils 31-35
    eye_angles = [np.pi, 4 * np.pi / 3, 5 * np.pi / 3, 0, np.pi / 3, 2 * np.pi / 3]
    pts += ellipse(-0.4, -0.15, 0.22, 0.1, eye_angles)  # right eye 36-41
    pts += ellipse(0.4, -0.15, 0.22, 0.1, eye_angles)  # left eye 42-47
    outer = [np.pi + k * np.pi / 6 for k in range(6)] + [k * np.pi / 6 for k in range(6)]
    pts += ellipse(0, 0.55, 0.45, 0.2, outer)  # outer lip 48-59
    inner = [np.pi + k * np.pi / 4 for k in range(4)] + [k * np.pi / 4 for k in range(4)]
    pts += ellipse(0, 0.55, 0.3, 0.08, inner)  # inner lip 60-67
    return np.array(pts)


def hand_points(wrist, direction, length, side):
    """21 hand keypoints: wrist, then thumb..pinky from base to tip, fanned along ``direction``."""
    base_angle = math.atan2(direction[1], direction[0])
    pts = [wrist]
    for finger, offset in enumerate((-55, -22, 0, 20, 40)):
        angle = base_angle + side * math.radians(offset)
        u = np.array([math.cos(angle), math.sin(angle)])
        start = 0.25 if finger == 0 else 0.4
        pts += [wrist + (start + 0.17 * j) * length * u for j in range(4)]
    return np.array(pts)


def foot_points(ankle, length, side):
    """One foot's share of COCO-WholeBody's 6 foot keypoints: big toe, small toe, heel."""
    return np.array([
        ankle + length * np.array([-side * 0.1, 0.7]), ankle + length * np.array([side * 0.6, 0.6]),
        ankle + length * np.array([side * 0.05, 0.25])
    ])


def make_figure(rng, height, head_ratio, whole_body):
    """Keypoints of a front-facing figure with its top centre at the origin.

    Returns a dict of point arrays: ``body`` (17, 2) and, for whole-body figures, ``foot``
    (6, 2), ``face`` (68, 2), ``lefthand`` / ``righthand`` (21, 2); plus the head circle
    (``head`` centre, radius ``r``), the figure's ``height`` and the ``whole_body`` flag.
    """
    r = head_ratio * height
    head = np.array([0.0, r])
    neck = np.array([0.0, 2 * r + 0.02 * height])
    body = np.zeros((17, 2))
    face = face_points(head, r)
    body[0] = face[30]
    body[1], body[2] = face[42:48].mean(0), face[36:42].mean(0)
    body[3], body[4] = head + (r, -0.05 * r), head + (-r, -0.05 * r)
    elbow_dirs = {}
    for side, off in ((1, 0), (-1, 1)):  # left (image right) first, as COCO orders joints
        shoulder = neck + (side * 0.12 * height, 0.02 * height)
        hip = neck + (side * 0.07 * height, 0.32 * height)
        upper = rng.uniform(0.15, 2.6)
        fore = np.clip(upper + rng.uniform(-1.0, 1.0), 0.0, 2.9)
        elbow = limb_end(shoulder, 0.15 * height, upper, side)
        wrist = limb_end(elbow, 0.14 * height, fore, side)
        thigh = rng.uniform(0.0, 0.6)
        knee = limb_end(hip, 0.2 * height, thigh, side)
        ankle = limb_end(knee, 0.2 * height, np.clip(thigh + rng.uniform(-0.3, 0.3), 0, 0.9), side)
        body[[5 + off, 7 + off, 9 + off, 11 + off, 13 + off,
              15 + off]] = (shoulder, elbow, wrist, hip, knee, ankle)
        elbow_dirs[side] = (wrist - elbow) / np.linalg.norm(wrist - elbow)
    fig = dict(body=body, head=head, r=r, height=height, whole_body=whole_body)
    if whole_body:
        foot_len = 0.06 * height
        fig['foot'] = np.concatenate(
            [foot_points(body[15], foot_len, 1),
             foot_points(body[16], foot_len, -1)])
        fig['face'] = face
        hand_len = 0.16 * height
        fig['lefthand'] = hand_points(body[9], elbow_dirs[1], hand_len, 1)
        fig['righthand'] = hand_points(body[10], elbow_dirs[-1], hand_len, -1)
    return fig


FIGURE_PARTS = ('body', 'foot', 'face', 'lefthand', 'righthand')


def transform_figure(fig, angle, scale, offset):
    """Rotate a figure about its hips, then scale and translate every point set."""
    centre = fig['body'][11:13].mean(0)
    out = dict(fig, r=fig['r'] * scale, height=fig['height'] * scale)
    for key in FIGURE_PARTS + ('head', ):
        if key in fig:
            pts = np.atleast_2d(fig[key])
            moved = rotate(pts, angle, centre) * scale + offset
            out[key] = moved[0] if key == 'head' else moved
    return out


def figure_points(fig):
    """All of a figure's keypoints stacked, for extent computations."""
    return np.concatenate([fig[k] for k in FIGURE_PARTS if k in fig])


def draw_figure(canvas, fig, colours):
    """Draw limbs, torso, head, feet and hands; ``colours`` maps part -> colour.

    Called once on the image with real colours and once on a mask with every colour 1, so
    the annotated area is exactly the drawn figure.
    """
    b = np.round(fig['body']).astype(np.int32)
    # Whole-body figures are drawn stout: their mask area scales COCO-WholeBody's keypoint
    # tolerance (OKS), which is far tighter for face and hand points than for the body.
    thick = max(2, int(round(fig['height'] / (9 if fig['whole_body'] else 30))))
    torso = np.array([b[5], b[6], b[12], b[11]])
    cv2.fillPoly(canvas, [torso.reshape(-1, 1, 2)], colours['torso'], lineType=cv2.LINE_8)
    for a, c in ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16)):
        cv2.line(canvas, tuple(map(int, b[a])), tuple(map(int, b[c])), colours['limb'], thick)
    neck_top = tuple(int(v) for v in np.round(fig['head'] + (0, fig['r'])))
    neck_bottom = tuple(int(v) for v in np.round((b[5] + b[6]) / 2))
    cv2.line(canvas, neck_top, neck_bottom, colours['limb'], thick)
    centre = tuple(int(v) for v in np.round(fig['head']))
    cv2.circle(canvas, centre, int(round(fig['r'])), colours['skin'], -1)
    if fig['whole_body']:
        for side in range(2):
            foot = np.round(fig['foot'][3 * side:3 * side + 3]).astype(np.int32)
            ankle = b[15 + side]
            cv2.fillPoly(canvas, [np.concatenate([ankle[None], foot]).reshape(-1, 1, 2)],
                         colours['shoe'],
                         lineType=cv2.LINE_8)
        for key in ('lefthand', 'righthand'):
            hand = np.round(fig[key]).astype(np.int32)
            for finger in range(5):
                chain = np.concatenate([hand[:1], hand[1 + 4 * finger:5 + 4 * finger]])
                cv2.polylines(canvas, [chain.reshape(-1, 1, 2)], False, colours['skin'], 1)


def draw_dots(canvas, fig):
    """Draw every keypoint as a dot in its type's colour (after the figure itself).

    On a single-channel mask every dot is drawn as 1.
    """

    def paint(colour):
        return colour if canvas.ndim == 3 else 1

    radius = max(1, int(round(fig['height'] / (60 if fig['whole_body'] else 50))))
    for k, ((x, y), colour) in enumerate(zip(np.round(fig['body']).astype(int), BODY_DOT_COLOURS)):
        # Whole-body head joints get small dots so the face landmarks around stay visible.
        r = 1 if fig['whole_body'] and k < 5 else radius
        cv2.circle(canvas, (int(x), int(y)), r, paint(colour), -1)
    if not fig['whole_body']:
        return
    finger_colours = [FACE_DOT_COLOUR] + [c for c in FINGER_DOT_COLOURS for _ in range(4)]
    for key, colours in (('foot', [FOOT_DOT_COLOUR] * 6), ('face', [FACE_DOT_COLOUR] * 68),
                         ('lefthand', finger_colours), ('righthand', finger_colours)):
        for (x, y), colour in zip(np.round(fig[key]).astype(int), colours):
            cv2.circle(canvas, (int(x), int(y)), 1, paint(colour), -1)


def random_figure_colours(rng):
    """Per-figure colours of the drawn parts (the dots have fixed colours)."""
    # Mid-range channels keep limbs and torso distinct from the saturated dot colours.
    return dict(torso=random_colour(rng, 70, 200),
                limb=random_colour(rng, 70, 200),
                skin=jitter_colour(rng, (225, 180, 140), 25),
                shoe=random_colour(rng, 0, 80))


def place_figure(rng, fig, slot, size):
    """Randomly rotate, scale and translate a figure so it fits inside ``slot`` (x0, x1)."""
    angle = rng.uniform(-0.15, 0.15)
    fig = transform_figure(fig, angle, 1.0, np.zeros(2))
    pts = figure_points(fig)
    lo, hi = pts.min(0) - fig['r'] * 0.2 - 2, pts.max(0) + fig['r'] * 0.2 + 2
    lo[1] = min(lo[1], fig['head'][1] - fig['r'] - 2)
    # Keep one pixel clear of the slot's edges so rounded keypoints stay inside the image.
    slot_w, slot_h = slot[1] - slot[0] - 2, size - 2
    scale = min(1.0, slot_w / (hi[0] - lo[0]), slot_h / (hi[1] - lo[1]))
    free = np.array([slot_w, slot_h]) - (hi - lo) * scale
    offset = np.array([slot[0] + 1, 1.0]) + rng.uniform(0, 1, size=2) * free - lo * scale
    return transform_figure(fig, 0.0, scale, offset)


def render_figures(rng, num_figures, size, whole_body):
    """Draw ``num_figures`` figures side by side; return the image and per-figure (fig, mask)."""
    img = noisy_background(rng, size, size)
    figures = []
    slot_w = size / num_figures
    for k in range(num_figures):
        height = rng.uniform(0.6, 0.95) * size
        fig = make_figure(rng, height, 0.2 if whole_body else 0.09, whole_body)
        fig = place_figure(rng, fig, (k * slot_w, (k + 1) * slot_w), size)
        colours = random_figure_colours(rng)
        draw_figure(img, fig, colours)
        draw_dots(img, fig)
        mask = np.zeros((size, size), np.uint8)
        draw_figure(mask, fig, {key: 1 for key in colours})
        draw_dots(mask, fig)
        figures.append((fig, mask))
    return img, figures


def keypoint_triplets(points):
    """COCO [x, y, v, ...] list of integer pixel positions, all labelled and visible."""
    out = []
    for x, y in np.round(points).astype(int):
        out += [int(x), int(y), 2]
    return out


def part_box(points, pad=2):
    """COCO box [x, y, w, h] around keypoints, padded by ``pad`` pixels."""
    lo = np.floor(points.min(0)) - pad
    hi = np.ceil(points.max(0)) + pad
    return [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]


def person_category(keypoint_names, skeleton):
    """COCO person category carrying the keypoint names and skeleton (as xtcocotools reads)."""
    return dict(id=1,
                name='person',
                supercategory='person',
                keypoints=list(keypoint_names),
                skeleton=[list(s) for s in skeleton])


def mask_rle(mask):
    """COCO's compressed RLE of a binary mask, with the counts as text (JSON-serialisable)."""
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))


def person_annotation(fig, mask, image_id, ann_id):
    """The COCO fields shared by person-keypoint and whole-body annotations; the figure's mask
    is the segmentation (where the tokens of a trained model should gather)."""
    return dict(id=ann_id,
                image_id=image_id,
                category_id=1,
                iscrowd=0,
                bbox=[float(v) for v in mask_box(mask)],
                area=float(mask.sum()),
                keypoints=keypoint_triplets(fig['body']),
                num_keypoints=17,
                segmentation=mask_rle(mask))


def make_person_set(out_dir, rng, num_train, num_val, ann_name, whole_body, size, max_people):
    """Shared writer of COCO keypoints and COCO-WholeBody sets."""
    reset_dir(out_dir)
    counts = {}
    for s, (split, num) in enumerate(split_counts(num_train, num_val)):
        images, annotations = [], []
        for i in range(num):
            image_id = s * 1_000_000 + i + 1
            file_name = f'{image_id:012d}.jpg'
            img, figures = render_figures(rng, int(rng.integers(1, max_people + 1)), size,
                                          whole_body)
            write_image(osp.join(out_dir, f'{split}2017', file_name), img)
            images.append(coco_image(image_id, file_name, size, size))
            for fig, mask in figures:
                ann_id = s * 1_000_000 + len(annotations) + 1
                ann = person_annotation(fig, mask, image_id, ann_id)
                if whole_body:
                    ann.update(wholebody_fields(fig))
                annotations.append(ann)
        category = person_category(COCO_KEYPOINTS, COCO_SKELETON)
        write_json(osp.join(out_dir, 'annotations', ann_name.format(split=split)),
                   dict(images=images, annotations=annotations, categories=[category]))
        counts[split] = dict(images=len(images), instances=len(annotations))
    return counts


# ------------------------------------------------------------------------------------------
# 3. COCO person keypoints
# ------------------------------------------------------------------------------------------
def make_coco_keypoints(out_dir, rng, num_train=128, num_val=32):
    """COCO person keypoints: 1-2 stick figures per 128x128 image, 17 visible keypoints."""
    return make_person_set(out_dir, rng, num_train, num_val, 'person_keypoints_{split}2017.json',
                           False, 128, 2)


# ------------------------------------------------------------------------------------------
# 4. COCO-WholeBody v1.0
# ------------------------------------------------------------------------------------------
def wholebody_fields(fig):
    """COCO-WholeBody's extra per-person fields: part keypoints, part boxes, validity flags."""
    fields = dict(foot_kpts=keypoint_triplets(fig['foot']),
                  foot_valid=True,
                  face_kpts=keypoint_triplets(fig['face']),
                  face_valid=True,
                  face_box=part_box(fig['face']))
    for key in ('lefthand', 'righthand'):
        fields[f'{key}_kpts'] = keypoint_triplets(fig[key])
        fields[f'{key}_box'] = part_box(fig[key])
        fields[f'{key}_valid'] = True
    return fields


def make_coco_wholebody(out_dir, rng, num_train=128, num_val=32):
    """COCO-WholeBody v1.0: one 133-keypoint figure per 192x192 image."""
    return make_person_set(out_dir, rng, num_train, num_val, 'coco_wholebody_{split}_v1.0.json',
                           True, 192, 1)


# ------------------------------------------------------------------------------------------
# 5. ADE20K semantic segmentation
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# 6. WFLW face alignment
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------
MAKERS = {
    'imagenet': make_classification,
    'coco': make_coco_detection,
    'coco_kpt': make_coco_keypoints,
    'coco_wholebody': make_coco_wholebody,
    'ade': make_ade20k,
    'wflw': make_wflw,
}


def make_datasets(out, seed=0, only=None, num_train=None, num_val=None, verbose=True):
    """Generate the named sets (all by default) under ``out``.

    Returns {set name: {split: {'images': n[, 'instances': m]}}}.
    """
    sizes = {}
    if num_train is not None:
        sizes['num_train'] = num_train
    if num_val is not None:
        sizes['num_val'] = num_val
    summary = {}
    for index, name in enumerate(SET_NAMES):
        if only and name not in only:
            continue
        rng = np.random.default_rng([seed, index])
        start = time.perf_counter()
        path = osp.join(out, name)
        summary[name] = MAKERS[name](path, rng, **sizes)
        if verbose:
            counts = '; '.join(f'{split}: ' + ', '.join(f'{n} {what}' for what, n in count.items())
                               for split, count in summary[name].items())
            print(f'{name}: {counts} -> {path} ({time.perf_counter() - start:.2f}s)')
    return summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/tiny', help='output root')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--only', nargs='+', choices=SET_NAMES, help='sets to generate')
    parser.add_argument('--num-train', type=int, help='training images per set')
    parser.add_argument('--num-val', type=int, help='validation images per set')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # OpenCV's own threads buy nothing on images this small and cost start-up time.
    cv2.setNumThreads(1)
    make_datasets(args.out, args.seed, args.only, args.num_train, args.num_val)


if __name__ == '__main__':
    main()
