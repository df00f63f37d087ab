"""Convert a released TCFormer whole-body pose checkpoint to an mmpose 1.x checkpoint.

Reads the whole-body checkpoints released with the CVPR 2022 paper and those of the mmpose 0.x
port (``{'state_dict': ...}`` with ``backbone.``, ``neck.`` and ``keypoint_head.`` keys);
writes ``{'state_dict': ..., 'meta': ...}`` for mmpose 1.x's ``TopdownPoseEstimator`` with our
``TCFormer`` backbone, ``MTA`` neck and ``HeatmapHead`` (``head.final_layer.*``), as built by
``configs/pose/tcformer/td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py`` and
``td-hm_tcformerv1-l_8xb16-210e_coco-wholebody-384x288.py``. Needed for tools that load weights
without a runner (``mmpose.apis.init_model``, ``MMPoseInferencer``); ``tools/test.py`` and
``load_from`` convert on the fly. Any other file, one already in the mmpose 1.x layout included,
is refused with a message saying what it holds.

Example::

    python tools/model_converters/tcformer_pose2mmpose.py tcformer_wholebody.pth \
        tcformer_wholebody_mmpose.pth
"""
import argparse
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from tcformer_mm.checkpoint.loading import load_checkpoint_file  # noqa: E402
from tcformer_mm.checkpoint.pose import check_released_pose_checkpoint  # noqa: E402
from tcformer_mm.checkpoint.pose import tcformer_pose_convert  # noqa: E402

PROG = osp.basename(__file__)


def save(state_dict: dict, src: str, dst: str) -> None:
    """Write the converted checkpoint, refusing to overwrite the source or a directory."""
    if osp.isdir(dst):
        raise ValueError(f'DST {dst} is a directory; give the path of the output file')
    if osp.exists(dst) and osp.samefile(src, dst):
        raise ValueError(f'DST {dst} is SRC: the conversion would overwrite its input')
    try:
        os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
        torch.save(dict(state_dict=state_dict, meta=dict(converted_from=src)), dst)
    except (OSError, RuntimeError) as e:
        raise ValueError(f'cannot write DST {dst}: {e}') from e


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released checkpoint')
    parser.add_argument('dst', help='output path')
    args = parser.parse_args(argv)
    try:
        checkpoint = load_checkpoint_file(args.src, map_location='cpu')
        check_released_pose_checkpoint(checkpoint, source=args.src)
        state_dict = tcformer_pose_convert(checkpoint)
        save(state_dict, args.src, args.dst)
    except (FileNotFoundError, TypeError, ValueError) as e:
        sys.exit(f'{PROG}: {e}')
    print(f'{len(state_dict)} keys written to {args.dst}')


if __name__ == '__main__':
    main()
