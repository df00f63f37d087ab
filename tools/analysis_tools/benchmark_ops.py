"""Latency of the token operations of a TCFormer, stage by stage, on its own token sets.

Examples::

    python tools/analysis_tools/benchmark_ops.py v1 --shape 224 224
    python tools/analysis_tools/benchmark_ops.py v2-small --shape 512 512 --repeats 10

One forward of the (untrained) backbone records, for every CTM, the tokens it clusters and, for
every stage, its token set; then each operation is timed alone on those inputs, as the
backbone's blocks call it: the (pixel, token) pairs of a stage, ``token2map`` and
``map2token`` at the width of the stage's MLP (where the token convolution runs), the CTM's
clustering (the arch's method and parts), and ``token2token`` from a stage to the previous one
(the MTA up-sampling, at 256 channels). Medians of ``--repeats`` calls in milliseconds, fp32;
``--threads`` intra-op threads on CPU; ``--device cuda`` for a GPU (synchronised around every
call), where the static formulation of the ops runs (``TCFORMER_SYNC_FREE`` chooses). Where
the time of a model goes, not a comparison: quote model speed as a ratio to PVTv2-B2 with
``benchmark.py``.
"""
import argparse
import statistics
import time
from typing import Callable, List, Tuple

import torch

from tcformer_mm.analysis.speed import synchronize
from tcformer_mm.ops import map2token, token2map, token2token, token_map_pairs
from tcformer_mm.ops.sync_free import sync_free

NECK_CHANNELS = 256


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('arch', help='TCFormer arch (v1-light ... v2-base)')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--warmup', type=int, default=2, help='untimed calls per operation')
    parser.add_argument('--repeats', type=int, default=20, help='timed calls per operation')
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N (default cpu)')
    return parser.parse_args(argv)


def median_ms(fn: Callable[[], object], warmup: int, repeats: int, device: torch.device) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


class _Recording:
    """A CTM's clustering method that records its calls (and otherwise is the method)."""

    def __init__(self, method, calls: list):
        self.method, self.calls = method, calls

    def __call__(self, tokens, num_parts):
        self.calls.append((self.method, tokens, num_parts))
        return self.method(tokens, num_parts)

    def __getattr__(self, name):
        return getattr(self.method, name)


def record(model, inputs: torch.Tensor) -> Tuple[list, list]:
    """Token sets of every stage and the inputs of every CTM's clustering."""
    calls = []
    for stage in model.stages[1:]:
        stage.downsample.clustering = _Recording(stage.downsample.clustering, calls)
    with torch.no_grad():
        stages = model(inputs)
    return list(stages), calls


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from tcformer_mm.models import TCFormer
    try:
        model = TCFormer(arch=args.arch, output_format='tokens').eval()
        device = torch.device(args.device)
    except (ValueError, RuntimeError) as error:
        raise SystemExit(f'benchmark_ops.py: {error}') from None
    model.to(device)
    inputs = torch.randn(1, 3, *args.shape, device=device)
    try:
        stages, calls = record(model, inputs)
    except ValueError as error:
        raise SystemExit(f'benchmark_ops.py: {error}') from None

    rows: List[Tuple[str, str, float]] = []
    timed = dict(warmup=args.warmup, repeats=args.repeats, device=device)
    with torch.no_grad():
        for i, (method, tokens, num_parts) in enumerate(calls, start=1):
            ms = median_ms(lambda: method(tokens, num_parts), **timed)
            rows.append((f'ctm{i} clustering',
                         f'N={tokens.num_tokens}, C={tokens.x.shape[-1]}, parts={num_parts}', ms))
        for i, tokens in enumerate(stages[1:], start=2):
            pairs = token_map_pairs(tokens)
            hidden = int(tokens.x.shape[-1] * model.arch_settings['mlp_ratios'][i - 1])
            wide = tokens.replace(x=torch.randn(1, tokens.num_tokens, hidden, device=device))
            feature_map = token2map(wide, pairs=pairs)
            shape = f'N={tokens.num_tokens}, map={tokens.map_size}, C={hidden}'
            rows.append((f'stage {i} token_map_pairs', f"P={int(pairs.num_pairs)}",
                         median_ms(lambda: token_map_pairs(tokens), **timed)))
            rows.append((f'stage {i} token2map', shape,
                         median_ms(lambda: token2map(wide, pairs=pairs), **timed)))
            rows.append((f'stage {i} map2token', shape,
                         median_ms(lambda: map2token(feature_map, wide, pairs=pairs), **timed)))
            source = tokens.replace(
                x=torch.randn(1, tokens.num_tokens, NECK_CHANNELS, device=device))
            target = stages[i - 2]
            rows.append(
                (f'stage {i} -> {i - 1} token2token',
                 f'{tokens.num_tokens} -> {target.num_tokens} tokens, '
                 f'C={NECK_CHANNELS}', median_ms(lambda: token2token(source, target), **timed)))

    where = f'{args.threads} threads' if device.type == 'cpu' else str(device)
    print(f'{args.arch}, input 1x3x{args.shape[0]}x{args.shape[1]}, fp32, {where}, '
          f'{"static" if sync_free(device) else "data-dependent"} formulation, median of '
          f'{args.repeats} calls')
    print(f'{"operation":<30}{"input":<44}{"median (ms)":>12}')
    for name, shape, ms in rows:
        print(f'{name:<30}{shape:<44}{ms:>12.3f}')


if __name__ == '__main__':
    main()
