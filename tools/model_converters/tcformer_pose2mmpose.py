"""Convert a released TCFormer whole-body pose checkpoint to an mmpose 1.x checkpoint.

Reads the whole-body checkpoints released with the CVPR 2022 paper and those of the mmpose 0.x
port (``{'state_dict': ...}`` with ``backbone.``, ``neck.`` and ``keypoint_head.`` keys);
writes ``{'state_dict': ..., 'meta': ...}`` for mmpose 1.x's ``TopdownPoseEstimator`` with our
``TCFormer`` backbone, ``MTA`` neck and ``HeatmapHead`` (``head.final_layer.*``), as built by
``configs/pose/tcformer/td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py`` and
``td-hm_tcformerv1-l_8xb16-210e_coco-wholebody-384x288.py``. Needed for tools that load weights
without a runner (``mmpose.apis.init_model``, ``MMPoseInferencer``); ``tools/test.py`` and
``load_from`` convert on the fly.

Example::

    python tools/model_converters/tcformer_pose2mmpose.py tcformer_wholebody.pth \
        tcformer_wholebody_mmpose.pth
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))

from tcformer_mm.checkpoint.loading import load_checkpoint_file  # noqa: E402
from tcformer_mm.checkpoint.pose import tcformer_pose_convert  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released checkpoint')
    parser.add_argument('dst', help='output path')
    args = parser.parse_args()
    checkpoint = load_checkpoint_file(args.src, map_location='cpu')
    state_dict = tcformer_pose_convert(checkpoint)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=dict(converted_from=args.src)), args.dst)
    print(f'{len(state_dict)} keys written to {args.dst}')


if __name__ == '__main__':
    main()
