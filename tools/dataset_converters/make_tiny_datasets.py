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

This file is the command line; the package ``tiny/`` beside it holds one module per set
(``classification``, ``coco_detection``, ``coco_person``, ``ade20k``, ``wflw``) and the shared
``drawing``, ``figures`` and ``writers`` helpers.
"""
import argparse
import os.path as osp
import sys
import time

import cv2
import numpy as np

# The generators are the package tiny/ beside this file. Running the file puts this folder on
# sys.path; importing it by path (tests, load_script) does not, so it is added here.
if osp.dirname(osp.abspath(__file__)) not in sys.path:
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from tiny.ade20k import ADE_COLOURS, ADE_IDS, make_ade20k
from tiny.classification import CLS_CLASSES, make_classification
from tiny.coco_detection import DET_CLASSES, draw_detection_image, make_coco_detection
from tiny.coco_person import make_coco_keypoints, make_coco_wholebody
from tiny.drawing import SHAPE_COLOURS
from tiny.figures import BODY_DOT_COLOURS, FACE_DOT_COLOUR, FINGER_DOT_COLOURS, FOOT_DOT_COLOUR
from tiny.wflw import WFLW_GROUP_COLOURS, make_wflw, wflw_landmarks

# What other code reads from this module (the tests: classes, palettes, drawing checks).
__all__ = [
    'ADE_COLOURS', 'ADE_IDS', 'BODY_DOT_COLOURS', 'CLS_CLASSES', 'DET_CLASSES', 'FACE_DOT_COLOUR',
    'FINGER_DOT_COLOURS', 'FOOT_DOT_COLOUR', 'MAKERS', 'SET_NAMES', 'SHAPE_COLOURS',
    'WFLW_GROUP_COLOURS', 'draw_detection_image', 'main', 'make_ade20k', 'make_classification',
    'make_coco_detection', 'make_coco_keypoints', 'make_coco_wholebody', 'make_datasets',
    'make_wflw', 'parse_args', 'wflw_landmarks'
]

# Also the output folder names. The position seeds each set's generator: append, never reorder.
SET_NAMES = ('imagenet', 'coco', 'coco_kpt', 'coco_wholebody', 'ade', 'wflw')

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
