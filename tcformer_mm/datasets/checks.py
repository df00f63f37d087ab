"""Name the file when a data set's file is bad: one line ``<file>: <what is wrong>``.

Without these checks a bad file ends a run with the error of whatever decoder met it (cv2,
mmcv's ``assert img is not None``, json), often raised in a DataLoader worker and seldom
naming the file; some decoders even take a truncated file without complaint (Pillow a PNG
without its end, some OpenCV builds a JPEG, grey where the data stops).
:func:`install_data_checks` (called by ``tools/train.py`` and ``tools/test.py``) adds
three checks where every dataset of mmpretrain, mmpose, mmseg and mmdet passes:

* ``mmcv.imfrombytes`` (which mmcv's ``LoadImageFromFile``, mmpose's ``LoadImage`` and mmseg's
  ``LoadAnnotations`` call) refuses encoded JPEG / PNG bytes that end early
  (:func:`truncation`): the only check on the path that succeeds, a scan of bytes already in
  memory.
* ``prepare_data`` of :class:`mmengine.dataset.BaseDataset` and of its subclasses that
  override it: when preparing sample ``idx`` fails, the files of the sample (each ``*_path``
  of its data info) are examined (:func:`file_problem`) and the first bad one is named; when
  they are all fine the original error goes on unchanged. ``prepare_data`` rather than
  ``__getitem__``, because in training ``__getitem__`` may have moved on to another index
  (mmengine refetches when a pipeline returns None).
* ``full_init`` likewise: when loading the annotations fails, a missing, empty or unparseable
  ``ann_file`` is named (:func:`annotation_problem`).

The errors raised are :class:`DataFileNotFound` (a ``FileNotFoundError``) and
:class:`BadDataFile` (a ``ValueError``), chained from the original error, with a one-line
message: the tools print it as their last line, also when it comes from a DataLoader worker.
"""
import functools
import io
import json
import os.path as osp
from typing import Callable, Optional

import cv2
import numpy as np

JPEG_SOI = b'\xff\xd8'
JPEG_SOS = b'\xff\xda'
JPEG_EOI = b'\xff\xd9'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Type and CRC of the IEND chunk, the last chunk of every PNG (always the same 8 bytes).
PNG_IEND = b'IEND\xaeB`\x82'

#: How a file of a data info key is called in messages; other ``*_path`` keys are
#: ``<key> file``.
FILE_KINDS = {'img_path': 'image file', 'seg_map_path': 'segmentation map file'}
# Files checked for being decodable images: those of these keys or with these extensions.
IMAGE_KEYS = ('img_path', 'seg_map_path')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm')

# Marks a method wrapped here, so that installing twice or walking a subclass again does not
# wrap it twice.
_CHECKED = '_tcformer_data_checked'
_installed = False


class DataFileNotFound(FileNotFoundError):
    """A file that a sample or a dataset needs is not there."""


class BadDataFile(ValueError):
    """A file that a sample or a dataset needs is there but cannot be used (empty, truncated,
    not decodable, not parseable)."""


def truncation(content) -> Optional[str]:
    """Why the encoded JPEG or PNG image ``content`` ends early, or None.

    A JPEG's last end-of-image marker must come after its last start-of-scan marker: the
    entropy-coded data of a scan cannot contain either (a 0xFF there is followed by 0x00 or a
    restart marker), so the test is exact for baseline and progressive files, and it tolerates
    bytes after the image (camera trailers, appended pictures). A PNG must hold its IEND
    chunk. Other formats and other types of ``content`` are not examined.
    """
    if not isinstance(content, (bytes, bytearray)):
        return None
    if content.startswith(JPEG_SOI):
        end = content.rfind(JPEG_EOI)
        if end < 0 or end < content.rfind(JPEG_SOS):
            return 'truncated JPEG (no end-of-image marker after the last scan)'
    elif content.startswith(PNG_SIGNATURE) and content.rfind(PNG_IEND) < 0:
        return 'truncated PNG (no IEND chunk)'
    return None


def _decodable(content: bytes) -> bool:
    """Whether OpenCV or Pillow (mmcv's decoders for the files of these data sets) decode
    ``content``."""
    try:
        if cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_UNCHANGED) is not None:
            return True
    except cv2.error:
        pass
    from PIL import Image
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
        return True
    except Exception:  # Pillow raises a variety of errors for what it cannot read
        return False


def file_problem(path: str,
                 kind: str = 'image file',
                 listed_by: str = '',
                 image: bool = True) -> Optional[Exception]:
    """The error that says what is wrong with the file ``path``, or None if nothing is.

    Args:
        path (str): The file.
        kind (str): What it is, for the message. Defaults to ``'image file'``.
        listed_by (str): The annotation file that lists it, named when it is missing.
        image (bool): Whether it must be a decodable image. Defaults to True.
    """
    if '://' in path:  # a file of a remote storage backend: not examined here
        return None
    if not osp.exists(path):
        listed = f' (listed by {listed_by})' if listed_by else ''
        return DataFileNotFound(f'{path}: {kind} not found{listed}')
    if not osp.isfile(path):
        return BadDataFile(f'{path}: {kind} is not a regular file')
    with open(path, 'rb') as f:
        content = f.read()
    if not content:
        return BadDataFile(f'{path}: {kind} is empty (0 bytes)')
    reason = truncation(content)
    if reason is not None:
        return BadDataFile(f'{path}: {reason}')
    if image and not _decodable(content):
        return BadDataFile(f'{path}: {kind} cannot be decoded (not an image that OpenCV or '
                           'Pillow reads)')
    return None


def sample_problem(dataset, idx: int) -> Optional[Exception]:
    """The error naming the first bad file of sample ``idx`` of ``dataset``, or None."""
    ann_file = getattr(dataset, 'ann_file', None)
    listed_by = ann_file if isinstance(ann_file, str) else ''
    for key, path in dataset.get_data_info(idx).items():
        if not (key.endswith('_path') and isinstance(path, str) and path):
            continue
        kind = FILE_KINDS.get(key, f'{key[:-len("_path")]} file')
        image = key in IMAGE_KEYS or path.lower().endswith(IMAGE_EXTENSIONS)
        problem = file_problem(path, kind, listed_by, image)
        if problem is not None:
            return problem
    return None


def annotation_problem(path, error: Exception) -> Optional[Exception]:
    """The error naming the annotation file ``path`` as the cause of ``error`` (raised while
    loading it), or None.

    A missing file is left to a ``FileNotFoundError`` whose message starts with its name: it
    may say where to get the file (as the mesh project's ``MeshDataset`` does).
    """
    if not isinstance(path, str) or not path or '://' in path:
        return None
    if not osp.exists(path):
        if isinstance(error, FileNotFoundError) and str(error).startswith(path):
            return None
        return DataFileNotFound(f'{path}: annotation file not found')
    if not osp.isfile(path):
        return None
    if osp.getsize(path) == 0:
        return BadDataFile(f'{path}: annotation file is empty (0 bytes)')
    # Parsed again (only after a failure) for the parser's own words on what is wrong.
    suffix = osp.splitext(path)[1].lower()
    try:
        if suffix == '.json':
            with open(path, 'rb') as f:
                json.load(f)
        elif suffix == '.npz':
            with np.load(path, allow_pickle=True) as archive:
                for name in archive.files:  # an archive cut short fails on its last members
                    archive[name]
    except Exception as e:  # what the parser says is the reason, whatever it raises
        what = 'valid JSON' if suffix == '.json' else 'a valid .npz archive'
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return BadDataFile(f'{path}: annotation file is not {what}: {reason}')
    return None


def _diagnosed(method: Callable, find_problem: Callable) -> Callable:
    """``method`` of a dataset, raising what ``find_problem(dataset, error, *args)`` finds
    when it fails (chained from its error), or its error unchanged when that finds nothing."""

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (DataFileNotFound, BadDataFile):
            raise  # named already, by a nested dataset or by an overridden method's super()
        except Exception as error:
            try:
                problem = find_problem(self, error, *args, **kwargs)
            except Exception:  # looking must never hide the error that made us look
                problem = None
            if problem is None:
                raise
            raise problem from error

    setattr(checked, _CHECKED, True)
    return checked


def _prepare_data_problem(dataset, error, idx, *args, **kwargs):
    return sample_problem(dataset, idx)


def _full_init_problem(dataset, error, *args, **kwargs):
    return annotation_problem(getattr(dataset, 'ann_file', None), error)


#: The dataset methods wrapped, with what examines their failure.
DIAGNOSED_METHODS = {'prepare_data': _prepare_data_problem, 'full_init': _full_init_problem}


def _check_class(cls) -> None:
    """Wrap the methods of :data:`DIAGNOSED_METHODS` that ``cls`` itself defines."""
    for name, find_problem in DIAGNOSED_METHODS.items():
        method = cls.__dict__.get(name)
        if callable(method) and not getattr(method, _CHECKED, False):
            setattr(cls, name, _diagnosed(method, find_problem))


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _checked_imfrombytes(imfrombytes: Callable) -> Callable:

    @functools.wraps(imfrombytes)
    def checked(content, *args, **kwargs):
        reason = truncation(content)
        if reason is not None:
            # A plain ValueError: prepare_data's check names the file it came from.
            raise ValueError(reason)
        return imfrombytes(content, *args, **kwargs)

    return checked


def install_data_checks() -> None:
    """Make a bad data file end a run with an error naming it (see the module's docstring).

    Idempotent. The datasets of this process and of the DataLoader workers it forks are
    checked, those defined later too (a hook on ``BaseDataset.__init_subclass__`` wraps
    their methods as they are created).
    """
    global _installed
    if _installed:
        return
    import mmcv
    import mmcv.image
    import mmcv.image.io
    from mmengine.dataset import BaseDataset

    # mmcv's loaders call `mmcv.imfrombytes`; mmcv.imread calls the one of mmcv.image.io.
    checked = _checked_imfrombytes(mmcv.image.io.imfrombytes)
    for module in (mmcv, mmcv.image, mmcv.image.io):
        module.imfrombytes = checked

    for cls in (BaseDataset, *_subclasses(BaseDataset)):
        _check_class(cls)
    # Datasets of a codebase are mostly imported after this, when the runner builds them.
    inherited = BaseDataset.__dict__.get('__init_subclass__')

    def __init_subclass__(cls, **kwargs):
        if inherited is not None:
            inherited.__func__(cls, **kwargs)
        else:
            super(BaseDataset, cls).__init_subclass__(**kwargs)
        _check_class(cls)

    BaseDataset.__init_subclass__ = classmethod(__init_subclass__)
    _installed = True
