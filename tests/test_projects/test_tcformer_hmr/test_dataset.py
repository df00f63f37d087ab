import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset
from mmpose.registry import DATA_SAMPLERS, DATASETS

from projects.tcformer_hmr.tcformer_hmr import MeshDataset, MixedRatioSampler
from .synthetic import load_tool, use_mmpose_scope


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp('tiny_mesh')
    load_tool('make_tiny_mesh_data').generate(str(out), num_train=8, num_val=4)
    return out


def _pipeline(size=96, augment=False):
    return [dict(type='LoadImage')] + ([dict(type='RandomMeshAugment')] if augment else []) + [
        dict(type='MeshTopdownAffine', input_size=(size, size)),
        dict(type='PackMeshInputs')
    ]


def _dataset(tiny, ann='train.npz', pipeline=None):
    use_mmpose_scope()
    return DATASETS.build(
        dict(type='MeshDataset',
             data_root=str(tiny),
             ann_file=ann,
             data_prefix=dict(img='images/'),
             pipeline=pipeline or []))


def test_annotations_load(tiny):
    dataset = _dataset(tiny)
    assert len(dataset) == 8 and dataset.dataset_name == 'train'
    info = dataset.get_data_info(3)
    assert info['img_path'].endswith('images/train_0003.png')
    assert info['keypoints_2d'].shape == (24, 3) and info['keypoints_3d'].shape == (24, 4)
    assert info['pose'].shape == (72, ) and info['betas'].shape == (10, )
    assert info['has_smpl'] == 1 and info['has_keypoints_3d'] == 1 and info['scale'] > 0


def test_crop_keeps_the_person_in_view(tiny):
    dataset = _dataset(tiny, pipeline=_pipeline())
    item = dataset[0]
    assert item['inputs'].shape == (3, 96, 96) and item['inputs'].dtype == torch.uint8
    kp = item['data_samples'].gt_keypoints_2d
    # The box is 1.2x the joints' extent, centred: joints span the middle 5/6 of the crop.
    span = kp[:, :2].max(0).values - kp[:, :2].min(0).values
    assert 96 / 1.2 - 1 <= span.max() <= 96 / 1.2 + 1
    assert kp[:, :2].min() >= 96 * 0.08 - 1 and kp[:, :2].max() <= 96 * 0.92 + 1
    # The limbs are drawn: pixels at the joints differ from the noisy background.
    img = item['inputs'].float()
    on_body = img[:, kp[:, 1].round().long().clamp(0, 95), kp[:, 0].round().long().clamp(0, 95)]
    assert on_body.max(0).values.mean() > img.max(0).values.mean() + 40


def test_flip_and_rotation_move_labels_consistently(tiny):
    from projects.tcformer_hmr.tcformer_hmr.mesh_transforms import MeshTopdownAffine
    base = _dataset(tiny).get_data_info(1)
    base['img'] = np.zeros((128, 128, 3), np.uint8)
    plain = MeshTopdownAffine((96, 96))(dict(base))
    flipped = MeshTopdownAffine((96, 96))(dict(base, flip=True))
    # Left and right joints swap and x mirrors about the crop centre.
    np.testing.assert_allclose(flipped['keypoints_2d'][5, 0],
                               95 - plain['keypoints_2d'][0, 0],
                               atol=1e-3)
    np.testing.assert_allclose(flipped['keypoints_3d'][5, 0],
                               -plain['keypoints_3d'][0, 0],
                               atol=1e-5)
    assert not np.allclose(flipped['pose'], plain['pose'])
    turned = MeshTopdownAffine((96, 96))(dict(base, rotation=90.))
    centre = np.array([47.5, 47.5])
    # Counter-clockwise by 90 degrees in the image (y down): (dx, dy) -> (dy, -dx).
    d0 = plain['keypoints_2d'][:, :2] - centre
    d1 = turned['keypoints_2d'][:, :2] - centre
    np.testing.assert_allclose(d1, np.stack([d0[:, 1], -d0[:, 0]], 1), atol=1e-3)
    k0, k1 = plain['keypoints_3d'], turned['keypoints_3d']
    np.testing.assert_allclose(k1[:, :2], np.stack([k0[:, 1], -k0[:, 0]], 1), atol=1e-5)


def test_random_augment_runs(tiny):
    dataset = _dataset(tiny, pipeline=_pipeline(augment=True))
    meta = dataset[2]['data_samples'].metainfo
    assert {'flip', 'rotation', 'center', 'scale'} <= set(meta)


def test_missing_file_and_keys_are_named(tiny, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nothere\.npz.*imgname.*dataset_extras'):
        _dataset(tmp_path, ann='nothere.npz')
    np.savez(tmp_path / 'no_center.npz',
             imgname=np.array(['a.png']),
             scale=np.ones(1),
             part=np.zeros((1, 24, 3)))
    with pytest.raises(KeyError, match=r"no_center\.npz.*\['center'\]"):
        _dataset(tmp_path, ann='no_center.npz')
    np.savez(tmp_path / 'no_labels.npz',
             imgname=np.array(['a.png']),
             scale=np.ones(1),
             center=np.zeros((1, 2)))
    with pytest.raises(KeyError, match=r'no_labels\.npz.*none of the supervision keys'):
        _dataset(tmp_path, ann='no_labels.npz')
    np.savez(tmp_path / 'only_2d.npz',
             imgname=np.array(['a.png']),
             scale=np.ones(1),
             center=np.zeros((1, 2)),
             part=np.ones((1, 24, 3)))
    info = _dataset(tmp_path, ann='only_2d.npz').get_data_info(0)
    assert info['has_smpl'] == 0 and info['has_keypoints_3d'] == 0


def test_mixed_ratio_sampler(tiny):
    datasets = [_dataset(tiny), _dataset(tiny, ann='val.npz')]
    concat = ConcatDataset(datasets)
    sampler = DATA_SAMPLERS.build(dict(type='MixedRatioSampler',
                                       ratios=[0.2, 0.8],
                                       num_samples=2000,
                                       seed=0),
                                  default_args=dict(dataset=concat))
    assert isinstance(sampler, MixedRatioSampler) and len(sampler) == 2000
    idx = np.array(list(sampler))
    assert idx.min() >= 0 and idx.max() < 12
    # Dataset 1 (val, 4 samples) is drawn 80% of the time although it is the smaller one.
    assert 0.75 < (idx >= 8).mean() < 0.85
    sampler.set_epoch(1)
    assert list(sampler) != idx.tolist()
    with pytest.raises(ValueError, match='one non-negative weight per dataset'):
        MixedRatioSampler(concat, ratios=[1.])
    with pytest.raises(TypeError, match='ConcatDataset'):
        MixedRatioSampler(datasets[0], ratios=[1.])
    assert isinstance(datasets[0], MeshDataset)
