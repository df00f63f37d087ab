"""Compare TCFormer's stage outputs with the released computation, under trained-like weights.

The backbone is built with the given arch, its weights perturbed to look trained
(``tcformer_mm.analysis.fidelity.trained_like_``: importance scores that vary between tokens,
LayerNorms away from identity), and run next to ``tcformer_mm.ops.reference_model.backbone``
(dense reference ops, the released formulas) on random images. The reference runs in fp64;
the model in ``--dtype``.

Example:
    python tools/analysis_tools/fidelity.py v1 --shape 224 224 --batch 2
    python tools/analysis_tools/fidelity.py v2-small --shape 97 131 --dtype float64
"""
import argparse
import sys

import torch

from tcformer_mm.analysis.fidelity import compare_stages, format_differences, trained_like_
from tcformer_mm.checkpoint.names import to_released_names
from tcformer_mm.models import TCFormer
from tcformer_mm.ops import reference_model


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('arch', help='TCFormer arch preset, e.g. v1, v1-light, v2-small')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--dtype', choices=['float32', 'float64'], default='float32')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tol',
                        type=float,
                        default=1e-3,
                        help='a token is off when a channel differs by more (default 1e-3)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.arch not in TCFormer.arch_zoo:
        sys.exit(f'fidelity.py: unknown arch {args.arch!r}; one of {sorted(TCFormer.arch_zoo)}')
    torch.manual_seed(args.seed)
    model = TCFormer(arch=args.arch)
    model.init_weights()
    trained_like_(model, args.seed).eval().double()
    g = torch.Generator().manual_seed(args.seed)
    img = torch.randn(args.batch, 3, *args.shape, generator=g, dtype=torch.float64)
    try:
        with torch.no_grad():
            # The reference reads the released keys.
            reference = reference_model.backbone(to_released_names(model.state_dict()),
                                                 img,
                                                 num_heads=model.num_heads,
                                                 sr_ratios=model.sr_ratios,
                                                 num_parts=model.num_parts)
            dtype = getattr(torch, args.dtype)
            ours = model.to(dtype)(img.to(dtype))
    except ValueError as e:
        sys.exit(f'fidelity.py: {e}')
    print(f'{args.arch}, {args.shape[0]}x{args.shape[1]}, batch {args.batch}, model in '
          f'{args.dtype}, reference in float64, tolerance {args.tol:g}')
    print(format_differences(compare_stages(ours, reference, args.tol)))


if __name__ == '__main__':
    main()
