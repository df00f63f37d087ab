"""Count the host-synchronising ops of a TCFormer forward pass, by op and by call site.

On CUDA every one of them makes the host wait for the device and prevents capturing the
forward as one graph (``tcformer_mm.analysis.host_sync``); counted here on any device.

Examples:
    python tools/analysis_tools/host_syncs.py v2-small --shape 224 224 --batch 2
    python tools/analysis_tools/host_syncs.py v2-small+mta-cr --shape 800 1344 --batch 1 \
        --train --static
"""
import argparse
import sys

import torch

from tcformer_mm.analysis import speed
from tcformer_mm.analysis.host_sync import HostSyncCounter
from tcformer_mm.models import TCFormer
from tcformer_mm.ops.sync_free import formulation
from tcformer_mm.utils.launch import add_size_argument


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('arch',
                        help='TCFormer arch preset, e.g. v1, v2-small; +fpn, +mta-sr, +mta-pool '
                        'or +mta-cr adds a neck')
    add_size_argument(parser, default=[224, 224], help='input size (default 224 224)')
    parser.add_argument('--batch', type=int, default=2, help='images per batch (default 2)')
    parser.add_argument('--train',
                        action='store_true',
                        help='a training step: training mode, forward and backward')
    parser.add_argument('--static',
                        action='store_true',
                        help="the static formulation of the clustering's search (a GPU's); "
                        "default: the device's")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    arch = args.arch.split('+')[0]
    if arch not in TCFormer.arch_zoo:
        sys.exit(f'host_syncs.py: unknown arch {arch!r}; one of {sorted(TCFormer.arch_zoo)}')
    try:
        model = speed.build_model(args.arch).train(args.train)
    except ValueError as error:
        sys.exit(f'host_syncs.py: {error}')
    images = torch.rand(args.batch, 3, *args.shape)
    with formulation(True if args.static else None), torch.set_grad_enabled(args.train), \
            HostSyncCounter() as syncs:
        outputs = model(images)
        if args.train:
            speed.outputs_loss(outputs).backward()
    what = 'training step (forward + backward)' if args.train else 'inference'
    print(f'{args.arch}, {args.shape[0]}x{args.shape[1]}, batch {args.batch}, {what}'
          f'{", static formulation" if args.static else ""}: {syncs.total} host-sync ops')
    for name, count in syncs.by_op().items():
        print(f'  {count:4d}  {name}')
    print('by call site:')
    for (name, site), count in sorted(syncs.counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f'  {count:4d}  {site}  {name}')


if __name__ == '__main__':
    main()
