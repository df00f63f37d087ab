"""File and COCO writers shared by the tiny set generators: images, label maps, JSON, text
lists, set folders, and the COCO annotation fields several sets share.
"""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np

JPEG_QUALITY = 95


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


def split_counts(num_train, num_val):
    """The (split name, count) pairs every generator iterates over."""
    return (('train', num_train), ('val', num_val))


def reset_dir(path):
    """Delete and recreate a set's folder so a rerun leaves no stale files."""
    if osp.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def write_coco_splits(out_dir, num_train, num_val, ann_name, categories, draw):
    """Write a COCO-format set into a fresh ``out_dir``: every split's images
    (``<split>2017/<image id>.jpg``) and annotation file (``annotations/`` + ``ann_name`` with
    ``{split}`` filled in); return the image and instance counts per split.

    ``draw(i)`` gives the split's i-th image and the annotations of its objects, to which the
    ids are added here: image and annotation ids count from ``s * 1_000_000 + 1`` in split
    ``s``, so they are unique across splits.
    """
    reset_dir(out_dir)
    counts = {}
    for s, (split, num) in enumerate(split_counts(num_train, num_val)):
        images, annotations = [], []
        for i in range(num):
            image_id = s * 1_000_000 + i + 1
            file_name = f'{image_id:012d}.jpg'
            img, objects = draw(i)
            write_image(osp.join(out_dir, f'{split}2017', file_name), img)
            images.append(coco_image(image_id, file_name, *img.shape[:2]))
            for obj in objects:
                annotations.append(
                    dict(obj, id=s * 1_000_000 + len(annotations) + 1, image_id=image_id))
        write_json(osp.join(out_dir, 'annotations', ann_name.format(split=split)),
                   dict(images=images, annotations=annotations, categories=categories))
        counts[split] = dict(images=len(images), instances=len(annotations))
    return counts


def mask_box(mask):
    """Tight COCO box [x, y, w, h] of a binary mask's pixels."""
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]


def coco_categories(names, supercategory='shape'):
    """COCO ``categories`` with ids 1..N."""
    return [dict(id=i + 1, name=n, supercategory=supercategory) for i, n in enumerate(names)]


def coco_image(image_id, file_name, height, width):
    """A COCO ``images`` entry."""
    return dict(id=image_id, file_name=file_name, height=height, width=width)


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


def mask_rle(mask):
    """COCO's compressed RLE of a binary mask, with the counts as text (JSON-serialisable)."""
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))
