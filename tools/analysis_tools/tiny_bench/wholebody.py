"""The whole-body task's extra figures: the AP of every part, and where the tokens gather.

Per-part APs: mmpose's ``CocoWholeBodyMetric`` (1.x) evaluates body, foot, face, left hand,
right hand and the whole body with one xtcocotools ``COCOeval`` each and prints every summary,
but returns the whole-body statistics only. :func:`record_part_aps` keeps the AP of each part's
``COCOeval`` as the metric runs it: the figures are the metric's own (its annotation file,
sigmas, ``use_area``, rescored and NMS-filtered predictions), nothing is recomputed.

Token concentration (``tcformer_mm.analysis.token_concentration``): for every backbone stage,
the share of tokens on the figure, the face box and the hand boxes over the region's share of
the input (1 for a grid), the regions warped into each input as its image was.
"""
import contextlib
import importlib
from typing import Dict, List
from unittest import mock

#: The parts ``CocoWholeBodyMetric`` evaluates apart (its ``COCOeval`` types ``keypoints_<part>``).
PARTS = ('body', 'foot', 'face', 'lefthand', 'righthand')
#: Regions of the token concentration.
REGIONS = ('figure', 'face', 'hands')


@contextlib.contextmanager
def record_part_aps():
    """Within the block, the AP of every part that mmpose's ``CocoWholeBodyMetric`` evaluates
    is recorded into the yielded dict as ``<part>_AP``.

    Raises:
        RuntimeError: If the metric ran without evaluating every part (another mmpose).
    """
    from mmpose.evaluation.metrics import CocoWholeBodyMetric
    module = importlib.import_module(CocoWholeBodyMetric.__module__)
    aps: Dict[str, float] = {}

    class RecordingCOCOeval(module.COCOeval):

        def summarize(self):
            super().summarize()
            part = self.params.iouType[len('keypoints_'):]
            if part in PARTS:
                aps[f'{part}_AP'] = float(self.stats[0])

    with mock.patch.object(module, 'COCOeval', RecordingCOCOeval):
        yield aps
    missing = [part for part in PARTS if f'{part}_AP' not in aps]
    if missing:
        raise RuntimeError(f'CocoWholeBodyMetric evaluated no COCOeval of type keypoints_<part> '
                           f'for {missing}: the per-part APs cannot be read from it')


def clusters_tokens(backbone) -> bool:
    """Whether ``backbone`` merges tokens (holds a CTM): a token concentration is measurable."""
    from tcformer_mm.models.layers import CTM
    return any(isinstance(module, CTM) for module in backbone.modules())


def _box_mask(box, height: int, width: int):
    import numpy as np
    mask = np.zeros((height, width), np.float32)
    x, y, w, h = (int(round(v)) for v in box)
    mask[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = 1
    return mask


def _region_masks(coco, ann) -> dict:
    """The figure's mask, the face box and the hand boxes of an annotation, at image size."""
    import numpy as np
    from pycocotools import mask as mask_utils
    image = coco.imgs[ann['image_id']]
    h, w = image['height'], image['width']
    rle = dict(ann['segmentation'], counts=ann['segmentation']['counts'].encode())
    return {
        'figure':
        mask_utils.decode(rle).astype(np.float32),
        'face':
        _box_mask(ann['face_box'], h, w),
        'hands':
        np.maximum(_box_mask(ann['lefthand_box'], h, w), _box_mask(ann['righthand_box'], h, w)),
    }


def _input_warp(sample):
    """The affine warp of the sample's image into its input, and the input's (width, height)."""
    from mmpose.structures.bbox import get_warp_matrix
    in_w, in_h = sample.metainfo['input_size']
    warp = get_warp_matrix(sample.metainfo['input_center'], sample.metainfo['input_scale'], 0,
                           (in_w, in_h))
    return warp, (int(in_w), int(in_h))


def _save_token_pictures(picture: str, sample, stages) -> None:
    """``token_pictures``' summary of the sample's input (its image warped) to ``picture``."""
    import cv2

    from tcformer_mm.visualization import token_pictures
    warp, size = _input_warp(sample)
    image = cv2.warpAffine(cv2.imread(sample.metainfo['img_path']),
                           warp,
                           size,
                           flags=cv2.INTER_LINEAR)
    summary = token_pictures(image[..., ::-1].copy(), stages)['summary']
    cv2.imwrite(picture, summary[..., ::-1])


def _batch_regions(coco, data_samples) -> Dict[str, list]:
    """Every region of every sample of a batch, warped into the sample's input."""
    import cv2
    import torch
    regions: Dict[str, list] = {name: [] for name in REGIONS}
    for sample in data_samples:
        warp, size = _input_warp(sample)
        for name, mask in _region_masks(coco, coco.anns[sample.metainfo['id']]).items():
            warped = cv2.warpAffine(mask, warp, size, flags=cv2.INTER_LINEAR)
            regions[name].append(torch.from_numpy(warped))
    return regions


def wholebody_concentration(runner, ann_file: str, picture: str) -> Dict[str, float]:
    """Mean token concentration of every backbone stage on the figure, the face and the hands
    of the validation set; the token pictures of the first validation input go to
    ``picture``."""
    import numpy as np
    import torch
    from xtcocotools.coco import COCO

    from tcformer_mm.analysis.token_concentration import region_on_grid, token_concentration
    coco = COCO(ann_file)
    model = runner.model.eval()
    ratios: Dict[str, List[list]] = {}
    for data in runner.test_dataloader:
        data = model.data_preprocessor(data, False)
        with torch.no_grad():
            stages = model.backbone(data['inputs'])
        if not ratios:
            _save_token_pictures(picture, data['data_samples'][0], stages)
        for name, masks in _batch_regions(coco, data['data_samples']).items():
            for s, tokens in enumerate(stages):
                grid = region_on_grid(torch.stack(masks), tokens.init_grid_size)
                ratios.setdefault(name, [[] for _ in stages])[s] += \
                    token_concentration(tokens, grid).tolist()
    return {
        f'concentration/{name}/stage{s + 1}': float(np.nanmean(values))
        for name, per_stage in ratios.items()
        for s, values in enumerate(per_stage)
    }
