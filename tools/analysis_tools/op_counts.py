"""Count the ATen ops of one forward (views and detaches not counted), TCFormer in both
formulations of its clustering's search next to PVTv2-B2.

On a GPU at small batch every op is at least one kernel launch: the count is the floor of a
forward's cost there (``tcformer_mm.analysis.op_count``). Counted on CPU; the counts are the
same on any device.

Example:
    python tools/analysis_tools/op_counts.py                       # the default table
    python tools/analysis_tools/op_counts.py v2-small+mta-cr --shape 800 1344
    python tools/analysis_tools/op_counts.py v2-small --sites 50     # by call site
"""
import argparse

import torch

from tcformer_mm.analysis import speed
from tcformer_mm.analysis.op_count import count_forward_ops
from tcformer_mm.utils.launch import run_cli

#: (model, input size) rows of the default table.
DEFAULT_ROWS = (('v1', (224, 224)), ('v2-small', (224, 224)), ('pvtv2-b2', (224, 224)),
                ('v2-small+mta-cr', (800, 1344)), ('pvtv2-b2', (800, 1344)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('models',
                        nargs='*',
                        help='TCFormer archs, pvtv2-b0/b1/b2, with +mta-cr / +mta-sr / +fpn '
                        'for a neck (default: the table of docs/benchmarks.md)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size')
    parser.add_argument('--top', type=int, default=0, help='also list the N most frequent ops')
    parser.add_argument('--sites',
                        type=int,
                        default=0,
                        help='also list the N call sites issuing most static ops (slow)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('WARNING')  # no weight-init listings
    if args.models:
        rows = [(m, tuple(args.shape or (224, 224))) for m in args.models]
    elif args.shape:
        rows = [(m, tuple(args.shape)) for m, _ in DEFAULT_ROWS[:3]]
    else:
        rows = DEFAULT_ROWS
    print(f'{"model":<20}{"input":>11}{"static":>9}{"data-dep.":>11}')
    for spec, shape in rows:
        torch.manual_seed(0)
        model = speed.build_model(spec)
        images = torch.rand(1, 3, *shape)
        static = count_forward_ops(model, images, static=True, by_site=args.sites > 0)
        dynamic = count_forward_ops(model, images, static=False)
        print(f'{spec:<20}{shape[0]:>6}x{shape[1]:<4}{static.total:>9}{dynamic.total:>11}',
              flush=True)
        for name, count in static.counts.most_common(args.top):
            print(f'    {count:6d}  {name}')
        for site, count in static.sites.most_common(args.sites):
            print(f'    {count:6d}  {site}')


if __name__ == '__main__':
    run_cli(main, 'op_counts.py')
