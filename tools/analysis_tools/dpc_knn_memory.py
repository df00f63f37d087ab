"""Peak memory and time of exact global DPC-kNN clustering at a large token count.

The default case is the first CTM of TCFormerV1 at 800x1344 input: a 200x336 grid of
N = 67,200 tokens with C = 128 channels (the CTM clusters its down-sampled, normalised features,
which have the next stage's width), clustered globally into ceil(N / 4) clusters. The
released code builds the full N x N distance matrix (an 18 GB fp32 allocation); the blocked
implementation in ``tcformer_mm.ops`` needs a few GB. Prints the peak resident set size of the
process (``resource.getrusage``) and the wall time.

Example:
    python tools/analysis_tools/dpc_knn_memory.py --grid 200 336 --channels 128
"""
import argparse
import time

import torch


def parse_args():
    from tcformer_mm.utils.launch import add_size_argument
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_argument(parser,
                      '--grid',
                      default=[200, 336],
                      help='token grid (default: 200 336, the first CTM at 800x1344)')
    parser.add_argument('--channels', type=int, default=128, help='feature channels C')
    parser.add_argument('--batch', type=int, default=1, help='images per batch')
    parser.add_argument('--num-parts', type=int, default=1, help='1: global clustering')
    parser.add_argument('--ratio', type=float, default=0.25, help='clusters per token')
    parser.add_argument('--block-mb',
                        type=int,
                        default=256,
                        help='memory bound of one block of the distance matrix, in MB')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from tcformer_mm.analysis.memory import peak_rss_kib
    from tcformer_mm.ops import TokenSet, build_clustering

    H, W = args.grid
    torch.manual_seed(args.seed)
    x = torch.nn.functional.layer_norm(
        torch.randn(args.batch, H * W, args.channels, device=args.device), (args.channels, ))
    tokens = TokenSet.from_grid(x, (H, W))
    method = build_clustering(
        dict(type='dpc_knn', ratio=args.ratio, max_block_bytes=args.block_mb * 2**20))
    rss_before = peak_rss_kib() / 1024
    start = time.perf_counter()
    clusters = method(tokens, args.num_parts)
    idx_cluster, num_clusters = clusters.idx, clusters.num_clusters
    if args.device.startswith('cuda'):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    used = torch.bincount(idx_cluster[0], minlength=num_clusters)
    print(f'tokens N={H * W} ({H}x{W}), C={args.channels}, batch={args.batch}, '
          f'parts={args.num_parts}, clusters={num_clusters}, non-empty={int((used > 0).sum())}')
    print(f'threads={torch.get_num_threads()}, block={args.block_mb} MB')
    print(f'peak RSS before clustering: {rss_before:.0f} MB')
    print(f'peak RSS: {peak_rss_kib() / 1024:.0f} MB')
    if args.device.startswith('cuda'):
        print(f'peak CUDA memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MB')
    print(f'wall time: {elapsed:.1f} s')


if __name__ == '__main__':
    main()
