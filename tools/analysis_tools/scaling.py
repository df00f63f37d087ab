"""How forward time grows with the input size: several models at several sizes, in one run.

Examples::

    python tools/analysis_tools/scaling.py
    python tools/analysis_tools/scaling.py --models v2-small pvtv2-b2 --shapes 224 224 512 512

Every model is built once; at each size the models are timed alternately (as ``benchmark.py``
does: ``--warmup`` untimed rounds, then ``--repeats`` timed rounds, one call of each model per
round), so drifts of the machine hit them alike. Printed: the median forward time (batch 1,
inference, fp32) of every model at every size, and its ratio to the last model (the reference,
PVTv2-B2 by default) at that size. V1 clusters globally, so its clustering grows with the
square of the token count; V2's local clustering and PVTv2 grow about linearly.
"""
import argparse
import statistics

import torch

from tcformer_mm.analysis import speed

DEFAULT_MODELS = ('v1', 'v2-small', 'pvtv2-b2')
DEFAULT_SHAPES = (224, 224, 512, 512, 800, 1344)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models',
                        nargs='+',
                        default=list(DEFAULT_MODELS),
                        help='models as benchmark.py names them; the last is the reference')
    parser.add_argument('--shapes',
                        type=int,
                        nargs='+',
                        default=list(DEFAULT_SHAPES),
                        metavar='H W',
                        help='input sizes as H W pairs (default 224 224 512 512 800 1344)')
    parser.add_argument('--device', type=speed.device_argument, default='cpu')
    parser.add_argument('--warmup', type=int, default=1, help='untimed rounds per size')
    parser.add_argument('--repeats', type=int, default=3, help='timed rounds per size')
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads (CPU)')
    args = parser.parse_args(argv)
    if len(args.shapes) % 2:
        parser.error(f'--shapes takes H W pairs, got {len(args.shapes)} numbers')
    if len(args.models) < 2:
        parser.error('--models needs at least two models (the last is the reference)')
    args.shapes = list(zip(args.shapes[::2], args.shapes[1::2]))
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = []
    for spec in args.models:
        try:
            models.append(speed.build_model(spec).to(args.device))
        except (ValueError, KeyError, FileNotFoundError) as error:
            raise SystemExit(f'scaling.py: cannot build {spec!r}: {error}') from None
    where = f'{args.threads} threads' if args.device.type == 'cpu' else str(args.device)
    print(f'forward, batch 1, fp32, {where}, {args.warmup} warm-up + {args.repeats} timed rounds '
          'per size (interleaved); median ms, ratio to the last model')
    print(f'{"input":<12}' + ''.join(f'{spec:>22}' for spec in args.models))
    for shape in args.shapes:
        images = torch.randn(1, 3, *shape, device=args.device)
        steps = [speed.make_step(model, images) for model in models]
        times = speed.time_interleaved(steps, args.warmup, args.repeats, args.device)
        medians = [statistics.median(t) * 1000 for t in times]
        cells = [f'{ms:.1f} ({ms / medians[-1]:.2f}x)' for ms in medians]
        size = f'{shape[0]}x{shape[1]}'
        print(f'{size:<12}' + ''.join(f'{cell:>22}' for cell in cells), flush=True)


if __name__ == '__main__':
    main()
