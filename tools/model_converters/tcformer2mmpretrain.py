"""Convert a released TCFormer checkpoint to an OpenMMLab 2.0 (mmpretrain) checkpoint.

Reads the original classification checkpoints (``{'model': ...}``) and mmpose 0.x
checkpoints (``{'state_dict': ...}`` with ``backbone.`` keys); writes
``{'state_dict': ..., 'meta': ...}`` with the backbone under ``backbone.`` and, for
classification checkpoints, the classifier as mmpretrain's ``LinearClsHead`` (``head.fc.*``).
Keys of an mmpose 0.x neck or keypoint head are not converted (see ``--keep-others``). Any
other file, one already in the mmpretrain layout (``backbone.*``, ``head.fc.*``) included, is
refused with a message saying what it holds.

Example::

    python tools/model_converters/tcformer2mmpretrain.py tcformer.pth tcformer_mmpretrain.pth
"""
import argparse
import os.path as osp
from collections import OrderedDict

from tcformer_mm.checkpoint.convert import (check_released_classifier, tcformer_classifier_convert,
                                            unwrap_state_dict)
from tcformer_mm.utils.launch import add_trust_argument, apply_trust, run_converter

PROG = osp.basename(__file__)


def convert(checkpoint: dict,
            keep_others: bool = False,
            source: str = 'checkpoint') -> 'OrderedDict':
    """Return the mmpretrain state dict of a released checkpoint.

    Raises:
        TypeError, ValueError: If ``checkpoint`` is not a released TCFormer checkpoint (see
            :func:`check_released_classifier`); ``source`` names it in the message.
    """
    check_released_classifier(checkpoint, source)
    state_dict = tcformer_classifier_convert(checkpoint)
    original = unwrap_state_dict(checkpoint)
    if keep_others and any(k.startswith('backbone.') for k in original):
        state_dict.update((k, v) for k, v in original.items() if not k.startswith('backbone.'))
    return state_dict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--keep-others',
                        action='store_true',
                        help='copy non-backbone keys of an mmpose 0.x checkpoint unchanged')
    add_trust_argument(parser)
    args = parser.parse_args(argv)
    apply_trust(args)
    run_converter(PROG, args.src, args.dst,
                  lambda ckpt: convert(ckpt, keep_others=args.keep_others, source=args.src))


if __name__ == '__main__':
    main()
