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
import os
import os.path as osp
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from tcformer_mm.checkpoint.convert import check_released_classifier  # noqa: E402
from tcformer_mm.checkpoint.convert import tcformer_classifier_convert  # noqa: E402
from tcformer_mm.checkpoint.convert import unwrap_state_dict  # noqa: E402
from tcformer_mm.checkpoint.loading import load_checkpoint_file  # noqa: E402

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


def save(state_dict: 'OrderedDict', src: str, dst: str) -> None:
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
    parser.add_argument('--keep-others',
                        action='store_true',
                        help='copy non-backbone keys of an mmpose 0.x checkpoint unchanged')
    args = parser.parse_args(argv)
    try:
        # The project's loader: released files load weights-only, runner checkpoints in full,
        # and a missing or non-checkpoint file is an error that names it.
        checkpoint = load_checkpoint_file(args.src, map_location='cpu')
        state_dict = convert(checkpoint, keep_others=args.keep_others, source=args.src)
        save(state_dict, args.src, args.dst)
    except (FileNotFoundError, TypeError, ValueError) as e:
        sys.exit(f'{PROG}: {e}')
    print(f'{len(state_dict)} keys written to {args.dst}')


if __name__ == '__main__':
    main()
