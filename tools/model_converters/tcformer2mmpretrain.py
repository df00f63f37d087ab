"""Convert a released TCFormer checkpoint to an OpenMMLab 2.0 (mmpretrain) checkpoint.

Reads the original classification checkpoints (``{'model': ...}``) and mmpose 0.x
checkpoints (``{'state_dict': ...}`` with ``backbone.`` keys); writes
``{'state_dict': ..., 'meta': ...}`` with the backbone under ``backbone.`` and, for
classification checkpoints, the classifier as mmpretrain's ``LinearClsHead`` (``head.fc.*``).
Keys of an mmpose 0.x neck or keypoint head are not converted (see ``--keep-others``).

Example::

    python tools/model_converters/tcformer2mmpretrain.py tcformer.pth tcformer_mmpretrain.pth
"""
import argparse
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))

from tcformer_mm.checkpoint import tcformer_classifier_convert, unwrap_state_dict  # noqa: E402


def convert(checkpoint: dict, keep_others: bool = False) -> 'OrderedDict':
    """Return the mmpretrain state dict of a released checkpoint."""
    state_dict = tcformer_classifier_convert(checkpoint)
    original = unwrap_state_dict(checkpoint)
    if keep_others and any(k.startswith('backbone.') for k in original):
        state_dict.update((k, v) for k, v in original.items() if not k.startswith('backbone.'))
    return state_dict


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--keep-others',
                        action='store_true',
                        help='copy non-backbone keys of an mmpose 0.x checkpoint unchanged')
    args = parser.parse_args()
    if not os.path.isfile(args.src):
        raise FileNotFoundError(f'checkpoint not found: {args.src}')
    # The released files hold only tensors and plain Python, so torch's safe loader reads them.
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    state_dict = convert(checkpoint, keep_others=args.keep_others)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=dict(converted_from=args.src)), args.dst)
    print(f'{len(state_dict)} keys written to {args.dst}')


if __name__ == '__main__':
    main()
