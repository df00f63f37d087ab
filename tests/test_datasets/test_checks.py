"""A bad data file ends loading with an error naming it (tcformer_mm/datasets/checks.py): on
the real datasets and pipelines of the codebases, and through tools/train.py (one line, exit
status 2), also from a DataLoader worker."""
import json
import shutil
import sys

import cv2
import mmcv
import numpy as np
import pytest
from conftest import ROOT, data_root_options, run_tool
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets import CocoDataset
from mmpose.datasets import CocoDataset as PoseCocoDataset
from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.transforms import PackInputs
from mmseg.datasets import BaseSegDataset
from mmseg.datasets.transforms import LoadAnnotations

from tcformer_mm.datasets import BadDataFile, DataFileNotFound, install_data_checks
from tcformer_mm.datasets.checks import truncation

CLS_CONFIG = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'
DET_CONFIG = 'configs/tiny/retinanet_tcformerv2-t_mta_1xb4_tiny-coco.py'

TRUNCATED_JPEG = 'truncated JPEG (no end-of-image marker after the last scan)'
TRUNCATED_PNG = 'truncated PNG (no IEND chunk)'


@pytest.fixture(scope='module', autouse=True)
def checks():
    install_data_checks()
    install_data_checks()  # idempotent: a second call wraps nothing twice


def encode(ext, size=32, seed=0, params=()):
    """A random RGB image of ``size`` px, encoded as ``ext`` ('.jpg' or '.png')."""
    image = np.random.default_rng(seed).integers(0, 256, (size, size, 3), np.uint8)
    return cv2.imencode(ext, image, list(params))[1].tobytes()


# What each fault does to a file's bytes (None: the file is deleted), and the message's end.
FAULTS = {
    'missing': (None, 'image file not found (listed by {ann})'),
    'empty': (lambda data: b'', 'image file is empty (0 bytes)'),
    'truncated JPEG': (lambda data: data[:len(data) // 2], TRUNCATED_JPEG),
    # Cut right before the IEND chunk: every pixel is there, only the end is missing.
    'truncated PNG': (lambda data: data[:-12], TRUNCATED_PNG),
    'not an image': (lambda data: b'these are notes\n',
                     'image file cannot be decoded (not an image that OpenCV or Pillow reads)'),
}


def spoil(path, fault):
    corrupt = FAULTS[fault][0]
    if corrupt is None:
        path.unlink()
    else:
        path.write_bytes(corrupt(path.read_bytes()))


@pytest.fixture
def cls_set(tmp_path):
    """A folder of four images (three JPEGs, one PNG) listed with labels by ``meta.txt``."""
    names = ['a.jpg', 'b.jpg', 'c.png', 'd.jpg']
    (tmp_path / 'images').mkdir()
    for i, name in enumerate(names):
        (tmp_path / 'images' / name).write_bytes(encode(name[-4:], seed=i))
    (tmp_path / 'meta.txt').write_text(''.join(f'{name} {i % 2}\n' for i, name in enumerate(names)))
    return tmp_path


def cls_dataset(root, pipeline=None, test_mode=False):
    """mmpretrain's CustomDataset with mmcv's LoadImageFromFile, as the classification
    configs."""
    pipeline = [LoadImageFromFile(), PackInputs()] if pipeline is None else pipeline
    return CustomDataset(data_root=str(root),
                         ann_file='meta.txt',
                         data_prefix='images',
                         pipeline=pipeline,
                         test_mode=test_mode)


@pytest.mark.parametrize('test_mode', [False, True], ids=['train', 'test'])
@pytest.mark.parametrize('fault', list(FAULTS))
def test_bad_image_is_named(cls_set, fault, test_mode):
    name = 'c.png' if 'PNG' in fault else 'b.jpg'
    path = cls_set / 'images' / name
    spoil(path, fault)
    dataset = cls_dataset(cls_set, test_mode=test_mode)
    error = DataFileNotFound if fault == 'missing' else BadDataFile
    with pytest.raises(error) as info:
        dataset[['a.jpg', 'b.jpg', 'c.png'].index(name)]
    message = FAULTS[fault][1].format(ann=cls_set / 'meta.txt')
    assert str(info.value) == f'{path}: {message}'
    assert info.value.__cause__ is not None  # chained from what the loader raised
    assert dataset[0]['inputs'].shape[1:] == (32, 32)  # the good files still load


def test_valid_files_load(cls_set):
    """Bytes after a JPEG's end (camera trailers), a progressive JPEG and a PNG are fine."""
    images = cls_set / 'images'
    (images / 'a.jpg').write_bytes(encode('.jpg') + b'\x00' * 64 + b'trailer \xff\xd8\xff')
    (images / 'b.jpg').write_bytes(encode('.jpg', params=(cv2.IMWRITE_JPEG_PROGRESSIVE, 1)))
    dataset = cls_dataset(cls_set)
    assert [dataset[i]['inputs'].shape for i in range(4)] == [(3, 32, 32)] * 4


def test_truncation_is_exact_with_an_embedded_thumbnail():
    """A JPEG holding a complete thumbnail (an end-of-image marker) in its EXIF segment, cut in
    its own scan, is truncated; uncut it loads."""
    thumbnail = encode('.jpg', size=8, seed=1)
    exif = b'Exif\x00\x00' + thumbnail
    main = encode('.jpg', size=64)
    image = main[:2] + b'\xff\xe1' + (len(exif) + 2).to_bytes(2, 'big') + exif + main[2:]
    assert truncation(image) is None
    assert mmcv.imfrombytes(image).shape == (64, 64, 3)
    cut = image[:len(image) - len(main) // 3]
    assert truncation(cut) == TRUNCATED_JPEG
    with pytest.raises(ValueError, match='truncated JPEG'):
        mmcv.imfrombytes(cut)


def test_png_without_iend_is_refused_by_imfrombytes():
    """Pillow (mmseg's decoder of label maps) decodes a PNG without its IEND chunk silently."""
    data = encode('.png')[:-12]
    with pytest.raises(ValueError, match='truncated PNG'):
        mmcv.imfrombytes(data, flag='unchanged', backend='pillow')


class SkipFile:
    """A transform that drops the sample of one file (returns None), as a filtering transform
    does: mmengine then refetches another index."""

    def __init__(self, name):
        self.name = name

    def __call__(self, results):
        return None if results['img_path'].endswith(self.name) else results


def test_refetched_sample_is_named(cls_set):
    """In training, the file named is the one of the index being loaded after a refetch."""
    spoil(cls_set / 'images' / 'd.jpg', 'empty')
    (cls_set / 'meta.txt').write_text('a.jpg 0\nd.jpg 1\n')
    dataset = cls_dataset(cls_set, [SkipFile('a.jpg'), LoadImageFromFile()])
    np.random.seed(0)  # mmengine's refetch draws with numpy
    with pytest.raises(BadDataFile, match=r'd\.jpg: image file is empty'):
        dataset[0]


def test_other_errors_pass_unchanged(cls_set):

    def fail(results):
        raise RuntimeError('not a data file problem')

    dataset = cls_dataset(cls_set, [LoadImageFromFile(), fail])
    with pytest.raises(RuntimeError, match='not a data file problem') as info:
        dataset[0]
    assert type(info.value) is RuntimeError


@pytest.mark.parametrize('fault', ['missing', 'empty', 'truncated PNG', 'not an image'])
def test_bad_segmentation_map_is_named(tmp_path, fault):
    """mmseg's LoadAnnotations reads label maps with Pillow."""
    for sub in ('img', 'ann'):
        (tmp_path / sub).mkdir()
    for i in range(2):
        (tmp_path / 'img' / f'{i}.jpg').write_bytes(encode('.jpg', seed=i))
        label = np.random.default_rng(i).integers(0, 4, (32, 32), np.uint8)
        (tmp_path / 'ann' / f'{i}.png').write_bytes(cv2.imencode('.png', label)[1].tobytes())
    path = tmp_path / 'ann' / '1.png'
    spoil(path, fault)
    dataset = BaseSegDataset(data_root=str(tmp_path),
                             data_prefix=dict(img_path='img', seg_map_path='ann'),
                             pipeline=[LoadImageFromFile(), LoadAnnotations()])
    assert dataset[0]['gt_seg_map'].shape == (32, 32)
    with pytest.raises((BadDataFile, DataFileNotFound)) as info:
        dataset[1]
    message = FAULTS[fault][1].replace('image file', 'segmentation map file')
    assert str(info.value) == f'{path}: {message}'.replace(' (listed by {ann})', '')


@pytest.fixture(scope='module')
def coco_json(tmp_path_factory):
    """A valid COCO instance file of one image (what the codebases' parsers accept)."""
    root = tmp_path_factory.mktemp('coco')
    coco = dict(images=[dict(id=1, file_name='1.jpg', width=32, height=32)],
                annotations=[
                    dict(id=1,
                         image_id=1,
                         category_id=1,
                         bbox=[4, 4, 8, 8],
                         area=64,
                         iscrowd=0,
                         num_keypoints=1,
                         keypoints=[8, 8, 2] + [0, 0, 0] * 16)
                ],
                categories=[dict(id=1, name='person')])
    (root / 'valid.json').write_text(json.dumps(coco))
    return root


ANNOTATION_FAULTS = {
    'empty': (b'', BadDataFile, 'annotation file is empty (0 bytes)'),
    'invalid': (b'{"images": [', BadDataFile, 'annotation file is not valid JSON: Expecting value: '
                'line 1 column 13 (char 12)'),
    'missing': (None, DataFileNotFound, 'annotation file not found'),
}


def det_coco(ann):
    return CocoDataset(ann_file=ann, data_prefix=dict(img=''), metainfo=dict(classes=('person', )))


def pose_coco(ann):
    return PoseCocoDataset(ann_file=ann, data_mode='topdown')


@pytest.mark.parametrize('build', [det_coco, pose_coco], ids=['mmdet', 'mmpose'])
@pytest.mark.parametrize('fault', list(ANNOTATION_FAULTS))
def test_bad_annotation_file_is_named(tmp_path, coco_json, build, fault):
    assert len(build(str(coco_json / 'valid.json'))) == 1
    content, error, message = ANNOTATION_FAULTS[fault]
    path = tmp_path / 'instances.json'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error) as info:
        build(str(path))
    assert str(info.value) == f'{path}: {message}'


def test_mesh_dataset_files_are_named(tmp_path):
    """The mesh project's MeshDataset (npz annotations, mmpose's LoadImage) goes the same
    way."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from mmpose.datasets.transforms import LoadImage

    from projects.tcformer_hmr.tcformer_hmr.mesh_dataset import MeshDataset
    ann = tmp_path / 'mesh.npz'
    np.savez(ann,
             imgname=np.array(['a.jpg']),
             center=np.zeros((1, 2)),
             scale=np.ones(1),
             shape=np.zeros((1, 10)))
    dataset = MeshDataset(ann_file=str(ann),
                          data_prefix=dict(img=str(tmp_path)),
                          pipeline=[LoadImage()])
    image = tmp_path / 'a.jpg'
    with pytest.raises(DataFileNotFound) as info:
        dataset[0]
    assert str(info.value) == f'{image}: image file not found (listed by {ann})'
    image.write_bytes(encode('.jpg')[:300])
    with pytest.raises(BadDataFile) as info:
        dataset[0]
    assert str(info.value) == f'{image}: {TRUNCATED_JPEG}'
    ann.write_bytes(ann.read_bytes()[:100])
    with pytest.raises(BadDataFile) as info:
        MeshDataset(ann_file=str(ann), data_prefix=dict(img=str(tmp_path)))
    assert str(info.value) == (f'{ann}: annotation file is not a valid .npz archive: File is not '
                               'a zip file')


# ------------------------------------------------------------------------------------------
# tools/train.py
# ------------------------------------------------------------------------------------------
def train(config, data_root, *options, env=None):
    """tools/train.py on the first four samples of ``data_root`` (one batch), for one epoch
    or iteration."""
    result = run_tool([
        'tools/train.py', config, '--work-dir', f'{data_root}_work', '--cfg-options',
        *data_root_options(data_root), 'train_dataloader.dataset.indices=4', *options
    ],
                      env=env,
                      check=False)
    return result, result.stderr.strip().splitlines()[-1]


def assert_one_line(result, last, message):
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert last == f'tools/train.py: error: {message}'


@pytest.fixture
def cls_copy(tiny_data, tmp_path):
    """A copy of the tiny classification set and the path of its second training image."""
    root = tmp_path / 'imagenet'
    shutil.copytree(tiny_data / 'imagenet', root)
    second = (root / 'meta' / 'train.txt').read_text().splitlines()[1].split()[0]
    return root, root / 'train' / second


@pytest.mark.parametrize('fault,workers', [('empty', 1), ('truncated JPEG', 0)])
def test_cli_names_bad_image(cls_copy, fault, workers):
    root, image = cls_copy
    spoil(image, fault)
    result, last = train(CLS_CONFIG, root, 'train_cfg.max_epochs=1',
                         f'train_dataloader.num_workers={workers}',
                         'train_dataloader.persistent_workers=False')
    assert_one_line(result, last, f'{image}: {FAULTS[fault][1]}')


def test_cli_traceback_on_request(cls_copy):
    root, image = cls_copy
    spoil(image, 'empty')
    result, last = train(CLS_CONFIG,
                         root,
                         'train_cfg.max_epochs=1',
                         'train_dataloader.num_workers=0',
                         'train_dataloader.persistent_workers=False',
                         env=dict(TCFORMER_TRACEBACK='1'))
    assert result.returncode != 0 and 'Traceback' in result.stderr
    error = 'tcformer_mm.datasets.checks.BadDataFile'
    assert last == f'{error}: {image}: image file is empty (0 bytes)'


@pytest.fixture
def coco_copy(tiny_data, tmp_path):
    """A copy of the tiny COCO set, and the options that point the evaluators at it."""
    root = tmp_path / 'coco'
    shutil.copytree(tiny_data / 'coco', root)
    ann = root / 'annotations' / 'instances_val2017.json'
    return root, [f'{split}_evaluator.ann_file={ann}' for split in ('val', 'test')]


def test_cli_names_missing_image_from_a_worker(coco_copy):
    root, evaluators = coco_copy
    ann = root / 'annotations' / 'instances_train2017.json'
    image = root / 'train2017' / json.loads(ann.read_text())['images'][1]['file_name']
    image.unlink()
    result, last = train(DET_CONFIG, root, *evaluators, 'train_cfg.max_iters=1',
                         'train_dataloader.num_workers=1',
                         'train_dataloader.persistent_workers=False')
    assert_one_line(result, last, f'{image}: image file not found (listed by {ann})')


def test_cli_names_empty_annotation_file(coco_copy):
    root, evaluators = coco_copy
    ann = root / 'annotations' / 'instances_train2017.json'
    ann.write_bytes(b'')
    result, last = train(DET_CONFIG, root, *evaluators, 'train_cfg.max_iters=1')
    assert_one_line(result, last, f'{ann}: annotation file is empty (0 bytes)')
