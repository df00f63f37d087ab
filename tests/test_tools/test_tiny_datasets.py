"""Tests of tools/dataset_converters/make_tiny_datasets.py.

Every set is read back through its codebase's own dataset class with the training and test
pipelines of the standard configs (at small sizes), checked for consistency and visible
signal, and scored by the codebase's real metric with the ground truth as prediction, which
must score perfectly: that proves the annotation files satisfy the evaluators.
"""
import hashlib
import importlib.util
import json
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GENERATOR = osp.join(ROOT, 'tools', 'dataset_converters', 'make_tiny_datasets.py')
NUM_TRAIN, NUM_VAL = 12, 6


def load_generator():
    """Import the generator by path: tools/ is not a package."""
    spec = importlib.util.spec_from_file_location('make_tiny_datasets', GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_generator()


def generate(root, seed=0, only=None):
    """Generate the sets with the test's (small) sizes."""
    return gen.make_datasets(str(root),
                             seed=seed,
                             only=only,
                             num_train=NUM_TRAIN,
                             num_val=NUM_VAL,
                             verbose=False)


def file_hashes(root):
    """{relative path: sha256} of every file under ``root``."""
    hashes = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                hashes[osp.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return hashes


def read_rgb(path):
    """Read an image file as RGB uint8."""
    return mmcv.imread(path, channel_order='rgb')


def dataset_items(dataset):
    """All pipeline outputs of a dataset (pipelines are random: one pass)."""
    return [dataset[i] for i in range(len(dataset))]


@pytest.fixture(scope='session')
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny')
    generate(root)
    return root


# ------------------------------------------------------------------------------------------
# Generator behaviour
# ------------------------------------------------------------------------------------------
def test_layout(tiny_root):
    expected = [
        'imagenet/meta/train.txt',
        'imagenet/meta/val.txt',
        'imagenet/meta/classes.txt',
        'coco/annotations/instances_train2017.json',
        'coco/annotations/instances_val2017.json',
        'coco_kpt/annotations/person_keypoints_train2017.json',
        'coco_kpt/annotations/person_keypoints_val2017.json',
        'coco_wholebody/annotations/coco_wholebody_train_v1.0.json',
        'coco_wholebody/annotations/coco_wholebody_val_v1.0.json',
        'wflw/annotations/face_landmarks_wflw_train.json',
        'wflw/annotations/face_landmarks_wflw_test.json',
    ]
    for rel in expected:
        assert osp.isfile(tiny_root / rel), rel
    ade = tiny_root / 'ade' / 'ADEChallengeData2016'
    for sub, ext, count in (('images/training', '.jpg', NUM_TRAIN), ('images/validation', '.jpg',
                                                                     NUM_VAL),
                            ('annotations/training', '.png', NUM_TRAIN), ('annotations/validation',
                                                                          '.png', NUM_VAL)):
        names = os.listdir(ade / sub)
        assert len(names) == count and all(n.endswith(ext) for n in names)


def test_deterministic(tiny_root, tmp_path):
    generate(tmp_path / 'same')
    generate(tmp_path / 'other', seed=1)
    reference = file_hashes(tiny_root)
    assert file_hashes(tmp_path / 'same') == reference
    other = file_hashes(tmp_path / 'other')
    assert other.keys() == reference.keys()
    # ImageNet's meta lists depend on the counts only (labels cycle through the classes).
    assert all(other[k] != reference[k] for k in reference if 'imagenet/meta' not in k)


def test_only_and_rerun_match_full_run(tiny_root, tmp_path):
    # A set generated alone, and regenerated over stale files, equals the full run's.
    out = tmp_path / 'only'
    stale = out / 'wflw' / 'images' / 'stale.jpg'
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b'x')
    generate(out, only=['wflw'])
    assert os.listdir(out) == ['wflw']
    ref = {k: v for k, v in file_hashes(tiny_root).items() if k.startswith('wflw')}
    assert file_hashes(out) == ref


def test_cli(tmp_path, capsys):
    gen.main(
        ['--out',
         str(tmp_path), '--only', 'imagenet', 'ade', '--num-train', '4', '--num-val', '4'])
    printed = capsys.readouterr().out
    assert 'imagenet' in printed and 'ade' in printed
    assert sorted(os.listdir(tmp_path)) == ['ade', 'imagenet']


# ------------------------------------------------------------------------------------------
# mmpretrain: ImageNet layout
# ------------------------------------------------------------------------------------------
def imagenet(root, split, pipeline):
    """The ImageNet-layout set as the tiny configs read it."""
    from mmpretrain.datasets import ImageNet
    return ImageNet(data_root=str(root / 'imagenet'),
                    split=split,
                    metainfo=dict(classes=gen.CLS_CLASSES),
                    pipeline=pipeline)


def test_imagenet(tiny_root):
    init_default_scope('mmpretrain')
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=64),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    train = imagenet(tiny_root, 'train', train_pipeline)
    assert len(train) == NUM_TRAIN
    assert train.CLASSES == gen.CLS_CLASSES
    with open(tiny_root / 'imagenet' / 'meta' / 'classes.txt') as f:
        assert tuple(f.read().split()) == gen.CLS_CLASSES
    labels = [int(item['data_samples'].gt_label) for item in dataset_items(train)]
    assert sorted(set(labels)) == list(range(len(gen.CLS_CLASSES)))
    for info in train.load_data_list():
        # The folder name is the class: labels and classes line up.
        assert osp.basename(osp.dirname(info['img_path'])) == gen.CLS_CLASSES[info['gt_label']]


def test_imagenet_signal(tiny_root):
    init_default_scope('mmpretrain')
    train = imagenet(tiny_root, 'train', [])
    palette = np.array([gen.SHAPE_COLOURS[c] for c in gen.CLS_CLASSES], np.float32)
    for info in train.load_data_list():
        img = read_rgb(info['img_path']).astype(np.float32)
        # The shape is the only saturated region; its colour names the class.
        saturated = img.max(-1) - img.min(-1) > 90
        mean = img[saturated].mean(0)
        assert np.argmin(np.abs(palette - mean).sum(1)) == info['gt_label']


def test_imagenet_accuracy(tiny_root):
    from mmpretrain.evaluation import Accuracy
    init_default_scope('mmpretrain')
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=72, edge='short'),
        dict(type='CenterCrop', crop_size=64),
        dict(type='PackInputs'),
    ]
    val = imagenet(tiny_root, 'val', test_pipeline)
    assert len(val) == NUM_VAL
    metric = Accuracy(topk=1)
    for item in dataset_items(val):
        sample = item['data_samples']
        sample.set_pred_label(sample.gt_label)
        metric.process(None, [sample.to_dict()])
    assert metric.evaluate(len(val))['accuracy/top1'] == pytest.approx(100.0)


# ------------------------------------------------------------------------------------------
# mmdet: COCO instances
# ------------------------------------------------------------------------------------------
def coco_detection(root, split, pipeline, **kwargs):
    """The COCO-instances set as the tiny configs read it."""
    from mmdet.datasets import CocoDataset
    return CocoDataset(data_root=str(root / 'coco'),
                       ann_file=f'annotations/instances_{split}2017.json',
                       data_prefix=dict(img=f'{split}2017/'),
                       metainfo=dict(classes=gen.DET_CLASSES),
                       pipeline=pipeline,
                       **kwargs)


def test_coco_detection_train(tiny_root):
    init_default_scope('mmdet')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs'),
    ]
    train = coco_detection(tiny_root,
                           'train',
                           pipeline,
                           filter_cfg=dict(filter_empty_gt=True, min_size=32))
    # The empty first image is filtered out for training.
    assert len(train) == NUM_TRAIN - 1
    for item in dataset_items(train):
        img = item['inputs'].permute(1, 2, 0).float()  # BGR, but only differences matter
        gt = item['data_samples'].gt_instances
        assert len(gt) >= 1
        assert ((gt.labels >= 0) & (gt.labels < len(gen.DET_CLASSES))).all()
        masks = torch.from_numpy(gt.masks.to_ndarray()).bool()
        background = ~masks.any(0)
        for box, mask in zip(gt.bboxes.tensor, masks):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            assert len(xs) > 0
            # Mask pixels lie inside the box (one pixel of rounding slack).
            assert xs.min() >= box[0] - 1 and xs.max() <= box[2] + 1
            assert ys.min() >= box[1] - 1 and ys.max() <= box[3] + 1
            # The object is visible: its colour stands out from the background.
            pixels = img[mask]
            assert (pixels.mean(0) - img[background].mean(0)).abs().max() > 40
            # The decoded polygon covers the drawn shape only: its pixels share one colour.
            off = (pixels - pixels.median(0).values).abs().max(1).values
            assert (off < 40).float().mean() > 0.95


def test_coco_polygons_match_drawn_pixels():
    # Checked before JPEG compression: the annotated polygon, rasterised the way pycocotools
    # and mmdet do, is the set of pixels painted in the object's colour.
    from pycocotools import mask as mask_utils
    rng = np.random.default_rng(0)
    for _ in range(10):
        img, objects = gen.draw_detection_image(rng, 4)
        height, width = img.shape[:2]
        for obj in objects:
            rle = mask_utils.merge(mask_utils.frPyObjects(obj['segmentation'], height, width))
            decoded = mask_utils.decode(rle).astype(bool)
            colours, counts = np.unique(img[decoded], axis=0, return_counts=True)
            drawn = (img == colours[counts.argmax()]).all(-1)
            assert (decoded & drawn).sum() / (decoded | drawn).sum() > 0.95
            assert drawn.sum() == pytest.approx(obj['area'], rel=0.05)
            x, y, w, h = obj['bbox']
            ys, xs = np.nonzero(drawn)
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x, y, x + w, y + h)


def perfect_detection(sample):
    """Ground-truth boxes, labels and masks as a prediction with score 1."""
    gt = sample.gt_instances
    masks = torch.from_numpy(gt.masks.to_ndarray()).bool()
    return InstanceData(bboxes=gt.bboxes.tensor,
                        labels=gt.labels,
                        scores=torch.ones(len(gt)),
                        masks=masks)


def test_coco_detection_metric(tiny_root):
    from mmdet.evaluation import CocoMetric
    init_default_scope('mmdet')
    # No Resize: predictions are evaluated at the original image size.
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
    ]
    val = coco_detection(tiny_root, 'val', pipeline, test_mode=True)
    assert len(val) == NUM_VAL
    assert any(len(item['data_samples'].gt_instances) == 0 for item in dataset_items(val))
    metric = CocoMetric(ann_file=str(tiny_root / 'coco/annotations/instances_val2017.json'),
                        metric=['bbox', 'segm'])
    metric.dataset_meta = val.metainfo
    for item in dataset_items(val):
        sample = item['data_samples']
        sample.pred_instances = perfect_detection(sample)
        metric.process({}, [sample.to_dict()])
    results = metric.evaluate(len(val))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/segm_mAP'] == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------
# mmseg: ADE20K
# ------------------------------------------------------------------------------------------
def ade20k(root, split, pipeline):
    """The ADE20K set as the tiny configs read it (reduce_zero_label is the class default)."""
    from mmseg.datasets import ADE20KDataset
    folder = 'training' if split == 'train' else 'validation'
    return ADE20KDataset(data_root=str(root / 'ade' / 'ADEChallengeData2016'),
                         data_prefix=dict(img_path=f'images/{folder}',
                                          seg_map_path=f'annotations/{folder}'),
                         pipeline=pipeline)


def test_ade20k_classes_match_ids(tiny_root):
    init_default_scope('mmseg')
    classes = ade20k(tiny_root, 'train', []).metainfo['classes']
    for name, label in gen.ADE_IDS.items():
        if label:
            assert classes[label - 1] == name


def test_ade20k_train(tiny_root):
    init_default_scope('mmseg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomResize', scale=(256, 128), ratio_range=(0.5, 2.0), keep_ratio=True),
        dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs'),
    ]
    train = ade20k(tiny_root, 'train', pipeline)
    assert len(train) == NUM_TRAIN
    train_ids = {label - 1 for label in gen.ADE_IDS.values() if label} | {255}
    for item in dataset_items(train):
        assert item['inputs'].shape[-2:] == (64, 64)
        values = set(item['data_samples'].gt_sem_seg.data.unique().tolist())
        assert values <= train_ids


def test_ade20k_signal(tiny_root):
    init_default_scope('mmseg')
    palette = {
        label: np.array(gen.ADE_COLOURS[name], np.float32)
        for name, label in gen.ADE_IDS.items()
    }
    seen = set()
    for info in ade20k(tiny_root, 'train', []).load_data_list():
        img = read_rgb(info['img_path']).astype(np.float32)
        label = read_rgb(info['seg_map_path'])[..., 0]
        assert label[0, 0] == 0
        for value in np.unique(label):
            seen.add(int(value))
            mean = img[label == value].mean(0)
            nearest = min(palette, key=lambda k: np.abs(palette[k] - mean).sum())
            assert nearest == value
    assert seen == set(gen.ADE_IDS.values())


def test_ade20k_metric(tiny_root):
    from mmseg.evaluation import IoUMetric
    init_default_scope('mmseg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(256, 128), keep_ratio=True),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs'),
    ]
    val = ade20k(tiny_root, 'val', pipeline)
    assert len(val) == NUM_VAL
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = val.metainfo
    for item in dataset_items(val):
        sample = item['data_samples']
        assert 255 in sample.gt_sem_seg.data
        sample.pred_sem_seg = sample.gt_sem_seg.clone()
        metric.process({}, [sample.to_dict()])
    assert metric.evaluate(len(val))['mIoU'] == pytest.approx(100.0)


# ------------------------------------------------------------------------------------------
# mmpose: COCO keypoints, COCO-WholeBody, WFLW
# ------------------------------------------------------------------------------------------
def pose_train_pipeline(input_size, heatmap_size, half_body, bbox_transform=None):
    """The standard top-down heatmap training pipeline at a small input size."""
    codec = dict(type='MSRAHeatmap', input_size=input_size, heatmap_size=heatmap_size, sigma=2)
    pipeline = [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='RandomFlip', direction='horizontal'),
    ]
    if half_body:
        pipeline.append(dict(type='RandomHalfBody'))
    pipeline += [
        bbox_transform or dict(type='RandomBBoxTransform'),
        dict(type='TopdownAffine', input_size=input_size),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackPoseInputs'),
    ]
    return pipeline


def pose_test_pipeline(input_size):
    """The standard top-down test pipeline (ground-truth boxes)."""
    return [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size=input_size),
        dict(type='PackPoseInputs'),
    ]


#: The generated pose sets: folder -> (mmpose dataset, annotation file, image folder), the file
#: names as the real sets' with ``{split}`` ('train' / 'val'; WFLW's are 'train' / 'test').
POSE_SETS = {
    'coco_kpt': ('CocoDataset', 'annotations/person_keypoints_{split}2017.json', '{split}2017/'),
    'coco_wholebody':
    ('CocoWholeBodyDataset', 'annotations/coco_wholebody_{split}_v1.0.json', '{split}2017/'),
    'wflw': ('WFLWDataset', 'annotations/face_landmarks_wflw_{split}.json', 'images/'),
}


def pose_ann_file(root, name, split):
    return str(root / name / POSE_SETS[name][1].format(split=split))


def pose_dataset(root, name, split, pipeline):
    """An mmpose top-down dataset of ``POSE_SETS`` as the tiny configs read it."""
    import mmpose.datasets
    cls_name, ann_file, img_dir = POSE_SETS[name]
    return getattr(mmpose.datasets, cls_name)(data_root=str(root / name),
                                              data_mode='topdown',
                                              ann_file=ann_file.format(split=split),
                                              data_prefix=dict(img=img_dir.format(split=split)),
                                              pipeline=pipeline)


def check_pose_train(dataset, num_keypoints, input_size, heatmap_size):
    """Shapes of the packed training samples, and targets present for visible keypoints."""
    for item in dataset_items(dataset):
        assert tuple(item['inputs'].shape) == (3, input_size[1], input_size[0])
        sample = item['data_samples']
        assert sample.gt_instances.keypoints.shape == (1, num_keypoints, 2)
        heatmaps = sample.gt_fields.heatmaps
        assert tuple(heatmaps.shape) == (num_keypoints, heatmap_size[1], heatmap_size[0])
        assert sample.gt_instance_labels.keypoint_weights.sum() > 0


def check_dots(dataset, colours, tolerance=60):
    """Each keypoint sits on a dot of its type's colour (JPEG-level tolerance)."""
    colours = np.asarray(colours, np.float32)
    for info in dataset.data_list:
        img = read_rgb(info['img_path']).astype(np.float32)
        xy = np.round(info['keypoints'][0]).astype(int)
        pixels = img[xy[:, 1], xy[:, 0]]
        assert np.median(np.abs(pixels - colours).max(1)) < tolerance


def perfect_pose_samples(dataset):
    """Packed test samples with the ground-truth keypoints as prediction (score 1)."""
    samples = []
    for item in dataset_items(dataset):
        sample = item['data_samples']
        keypoints = sample.gt_instances.keypoints
        sample.pred_instances = InstanceData(keypoints=keypoints,
                                             keypoint_scores=np.ones(keypoints.shape[:2],
                                                                     np.float32))
        samples.append(sample.to_dict())
    return samples


def run_metric(metric, dataset):
    """Evaluate perfect predictions on a whole dataset."""
    metric.dataset_meta = dataset.metainfo
    for sample in perfect_pose_samples(dataset):
        metric.process({}, [sample])
    return metric.evaluate(len(dataset))


def test_coco_keypoints_train(tiny_root):
    init_default_scope('mmpose')
    train = pose_dataset(tiny_root, 'coco_kpt', 'train',
                         pose_train_pipeline((48, 64), (12, 16), True))
    with open(pose_ann_file(tiny_root, 'coco_kpt', 'train')) as f:
        num_people = len(json.load(f)['annotations'])
    assert len(train) == num_people >= NUM_TRAIN
    check_pose_train(train, 17, (48, 64), (12, 16))
    check_dots(train, gen.BODY_DOT_COLOURS)


def test_coco_keypoints_metric(tiny_root):
    from mmpose.evaluation import CocoMetric
    init_default_scope('mmpose')
    val = pose_dataset(tiny_root, 'coco_kpt', 'val', pose_test_pipeline((48, 64)))
    metric = CocoMetric(ann_file=pose_ann_file(tiny_root, 'coco_kpt', 'val'))
    assert run_metric(metric, val)['coco/AP'] == pytest.approx(1.0)


def test_coco_wholebody_train(tiny_root):
    init_default_scope('mmpose')
    train = pose_dataset(tiny_root, 'coco_wholebody', 'train',
                         pose_train_pipeline((72, 96), (18, 24), True))
    assert len(train) == NUM_TRAIN
    check_pose_train(train, 133, (72, 96), (18, 24))
    finger_colours = [gen.FACE_DOT_COLOUR] + [c for c in gen.FINGER_DOT_COLOURS for _ in range(4)]
    colours = (list(gen.BODY_DOT_COLOURS) + [gen.FOOT_DOT_COLOUR] * 6 + [gen.FACE_DOT_COLOUR] * 68 +
               finger_colours * 2)
    check_dots(train, colours)


def test_coco_wholebody_metric(tiny_root, capsys):
    from mmpose.evaluation import CocoWholeBodyMetric
    init_default_scope('mmpose')
    val = pose_dataset(tiny_root, 'coco_wholebody', 'val', pose_test_pipeline((72, 96)))
    metric = CocoWholeBodyMetric(ann_file=pose_ann_file(tiny_root, 'coco_wholebody', 'val'))
    capsys.readouterr()
    results = run_metric(metric, val)
    for key in ('AP', 'AP .5', 'AP .75', 'AR'):
        assert results[f'coco-wholebody/{key}'] == pytest.approx(1.0), results
    # Only the whole-body scores are returned; the body, foot, face and hand evaluations
    # that precede them are printed by xtcocotools.
    printed = capsys.readouterr().out
    part_aps = [
        float(line.rsplit('=', 1)[1]) for line in printed.splitlines()
        if 'Average Precision' in line and 'IoU=0.50:0.95 | area=   all' in line
    ]
    assert part_aps == [1.0] * 6, printed


def test_wflw_train(tiny_root):
    init_default_scope('mmpose')
    # The face configs rotate more, shift never, and have no half-body augmentation.
    bbox_transform = dict(type='RandomBBoxTransform',
                          shift_prob=0,
                          rotate_factor=60,
                          scale_factor=(0.75, 1.25))
    pipeline = pose_train_pipeline((64, 64), (16, 16), False, bbox_transform)
    train = pose_dataset(tiny_root, 'wflw', 'train', pipeline)
    assert len(train) == NUM_TRAIN
    check_pose_train(train, 98, (64, 64), (16, 16))
    groups = gen.wflw_landmarks()[1]
    check_dots(train, [gen.WFLW_GROUP_COLOURS[g] for g in groups])


def test_wflw_metric(tiny_root):
    from mmpose.evaluation import NME
    init_default_scope('mmpose')
    val = pose_dataset(tiny_root, 'wflw', 'test', pose_test_pipeline((64, 64)))
    assert len(val) == NUM_VAL
    metric = NME(norm_mode='keypoint_distance', keypoint_indices=[60, 72])
    assert run_metric(metric, val)['NME'] == pytest.approx(0.0, abs=1e-6)
