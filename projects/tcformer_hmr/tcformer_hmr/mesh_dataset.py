"""Datasets in the preprocessed ``.npz`` format of SPIN (Kolotouros et al., ICCV 2019)."""
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmpose.registry import DATASETS

#: Keys every file has: image path (relative to the image folder), box centre (x, y) and
#: scale (box size / 200) of the person.
REQUIRED_KEYS = ('imgname', 'center', 'scale')
#: Supervision keys with their shapes; a file has some of them.
OPTIONAL_KEYS = dict(part=(24, 3), S=(24, 4), pose=(72, ), shape=(10, ))


@DATASETS.register_module()
class MeshDataset(BaseDataset):
    """One person crop per sample, from a SPIN-style annotation file.

    The file holds ``imgname`` (N, ), ``center`` (N, 2), ``scale`` (N, ) and some of ``part``
    (N, 24, 3: 2D ground-truth joints in image pixels with visibility), ``S`` (N, 24, 4: 3D
    joints in meters, camera frame, with confidence), ``pose`` (N, 72: SMPL axis-angle) and
    ``shape`` (N, 10), ``has_smpl`` (N, ) and ``gender`` (N, : ``'m'`` / ``'f'``, 3DPW).
    The joints follow SPIN's 24 ground-truth joints (``constants.J24_NAMES``). Missing
    supervision is zero with its flag (``has_keypoints_3d``, ``has_smpl``) unset.

    Args:
        ann_file (str): The ``.npz`` file (under ``data_root``).
        dataset_name (str): Name stored with every sample. Defaults to the file's stem.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``data_root``,
            ``data_prefix=dict(img=...)``, ``pipeline``, ``test_mode``, ...).
    """

    METAINFO = dict(dataset_name='mesh')

    def __init__(self, ann_file: str, dataset_name: Optional[str] = None, **kwargs):
        self.dataset_name = dataset_name or osp.splitext(osp.basename(ann_file))[0]
        kwargs.setdefault('data_prefix', dict(img=''))
        super().__init__(ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the annotation file into one dict per sample."""
        path = self.ann_file
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} not found: expected a SPIN-style annotation file (.npz with the keys '
                f'{list(REQUIRED_KEYS)} and some of {list(OPTIONAL_KEYS)}). Get the '
                'preprocessed files of SPIN (data/dataset_extras) and put them under '
                "data/mesh/ (see projects/tcformer_hmr/README.md).")
        with np.load(path, allow_pickle=True) as data:
            files = set(data.files)
            missing = [k for k in REQUIRED_KEYS if k not in files]
            if missing:
                raise KeyError(f'{path}: annotation file lacks the keys {missing} (it has '
                               f'{sorted(files)}; expected {list(REQUIRED_KEYS)}).')
            supervision = [k for k in OPTIONAL_KEYS if k in files]
            if not supervision:
                raise KeyError(f'{path}: annotation file has none of the supervision keys '
                               f'{list(OPTIONAL_KEYS)} (it has {sorted(files)}).')
            arrays = {k: data[k] for k in (*REQUIRED_KEYS, *supervision)}
            num = len(arrays['imgname'])
            for key, shape in OPTIONAL_KEYS.items():
                if key in arrays and arrays[key].shape[1:] != shape:
                    raise ValueError(f'{path}: {key} must have shape (N, {shape}), got '
                                     f'{arrays[key].shape}.')
            has_smpl = data['has_smpl'].astype(np.float32) if 'has_smpl' in files else None
            gender = data['gender'] if 'gender' in files else None
        if has_smpl is None:
            has_smpl = np.full(num, float('pose' in arrays and 'shape' in arrays), np.float32)
        zeros = dict(part=np.zeros((24, 3), np.float32),
                     S=np.zeros((24, 4), np.float32),
                     pose=np.zeros(72, np.float32),
                     shape=np.zeros(10, np.float32))
        img_prefix = self.data_prefix.get('img', '')
        data_list = []
        for i in range(num):
            info = dict(
                img_path=osp.join(img_prefix, str(arrays['imgname'][i])),
                center=arrays['center'][i].astype(np.float32),
                scale=float(np.asarray(arrays['scale'][i]).reshape(-1)[0]),
                keypoints_2d=arrays['part'][i].astype(np.float32)
                if 'part' in arrays else zeros['part'],
                keypoints_3d=arrays['S'][i].astype(np.float32) if 'S' in arrays else zeros['S'],
                has_keypoints_3d=float('S' in arrays),
                pose=arrays['pose'][i].astype(np.float32) if 'pose' in arrays else zeros['pose'],
                betas=arrays['shape'][i].astype(np.float32)
                if 'shape' in arrays else zeros['shape'],
                has_smpl=float(has_smpl[i]),
                gender=str(gender[i]) if gender is not None else 'n',
                dataset_name=self.dataset_name,
                sample_idx=i)
            data_list.append(info)
        return data_list
