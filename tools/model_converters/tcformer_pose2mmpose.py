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
import os.path as osp

from tcformer_mm.checkpoint.pose import check_released_pose_checkpoint, tcformer_pose_convert
from tcformer_mm.utils.launch import add_trust_argument, apply_trust, run_converter

PROG = osp.basename(__file__)


def convert(checkpoint, source: str = 'checkpoint'):
    """The mmpose 1.x state dict of a released whole-body checkpoint (ValueError naming
    ``source`` for any other file)."""
    check_released_pose_checkpoint(checkpoint, source=source)
    return tcformer_pose_convert(checkpoint)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released checkpoint')
    parser.add_argument('dst', help='output path')
    add_trust_argument(parser)
    args = parser.parse_args(argv)
    apply_trust(args)
    run_converter(PROG, args.src, args.dst, lambda ckpt: convert(ckpt, source=args.src))


if __name__ == '__main__':
    main()
