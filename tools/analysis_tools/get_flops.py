"""Count the FLOPs and parameters of a config's model the way the TCFormer papers do.

Examples::

    python tools/analysis_tools/get_flops.py \\
        configs/classification/tcformer/tcformerv2-small_8xb128_in1k.py
    python tools/analysis_tools/get_flops.py CONFIG --shape 512 512
    python tools/analysis_tools/get_flops.py CONFIG --shape 256 192 --convention full

The whole model of the config (backbone, neck, head; ``mode='tensor'``, no post-processing)
is built in the config's ``default_scope`` (mmpretrain, mmpose, mmseg or mmdet) without
loading weights, and runs once on one random image. Ordinary layers are counted with the
ptflops rules of mmcv 1.x's ``get_model_complexity_info`` (what the papers used): Conv with a
bias term, Linear without, norms doubled when affine, GELU and softmax free. TCFormer's
dynamic-token operations are counted by the papers' formulas with the token counts of the
forward: the clustering's distance computations, the token <-> map transforms, the merges and
the attention over its key count (see ``tcformer_mm/analysis/flops.py``).

Convention (``--convention``): ``papers`` (default) leaves out what the papers' counter left
out - the MTA neck's token up-sampling and final token->map transforms, and the attention
products of CR-MTA blocks - and so reproduces TPAMI Tables I, II, V, VI, VIII and IX; ``full``
counts them too. The left-out amounts are printed either way.
"""
import argparse
import os
import sys

from mmengine.config import DictAction

CONVENTIONS = ('papers', 'full')  # tcformer_mm.analysis.flops.CONVENTIONS, imported lazily

CONVENTION_HELP = (
    '"papers" (default): like the papers\' counter, do NOT count the MTA neck\'s token '
    'up-sampling (token->token) and the token->map transforms that produce output feature maps '
    '(MTA outputs, backbones with output_format="maps"), N0 x (C + 4) each, nor the attention '
    'products (QK^T, AV) of CR-MTA blocks; this reproduces TPAMI Tables I, II, V, VI, VIII and '
    'IX within 5%% (II, V, VIII to 0.1 GFLOPs). "full": '
    'count them too (0.03 GFLOPs of transforms and 2.8 GFLOPs of CR-MTA attention for a '
    'Semantic FPN at 512x512).')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='FLOPs (multiply-accumulates counted once, as in the TCFormer papers) and '
        'parameters of a config\'s model. Convention for the MTA neck: its token up-sampling '
        'and final token->map transforms (and the CR-MTA attention products) are NOT counted, '
        'as in the papers, unless --convention full is given.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape',
                        type=int,
                        nargs='+',
                        metavar='SIZE',
                        help='input size: H W, or one value for a square. Default: the '
                        'config\'s input size (mmpose codec.input_size, mmseg crop_size), '
                        '800 1333 for mmdet, 224 224 otherwise')
    parser.add_argument('--in-channels', type=int, default=3, help='input image channels')
    parser.add_argument('--convention', choices=CONVENTIONS, default='papers', help=CONVENTION_HELP)
    parser.add_argument('--depth',
                        type=int,
                        default=1,
                        help='module-name depth of the per-module breakdown (default: 1)')
    parser.add_argument('--cfg-options',
                        nargs='+',
                        action=DictAction,
                        help='override settings of the config, xxx=yyy pairs merged into it')
    return parser.parse_args(argv)


def format_result(result, hw) -> str:
    """The report: totals like mmdet/mmseg's get_flops, then the breakdowns."""
    split_line = '=' * 30
    lines = [
        split_line,
        f'Input shape: ({hw[0]}, {hw[1]})',
        f'Flops: {result.flops / 1e9:.2f} GFLOPs',
        f'Params: {result.params / 1e6:.2f} M',
        f'Convention: {result.convention}',
    ]
    state = 'counted' if result.convention == 'full' else 'not counted'
    lines += [
        f'  {name}: {flops / 1e9:.3f} GFLOPs, {state}'
        for name, flops in result.papers_omit.items()
    ]
    lines += [
        split_line,
        'By module:',
    ]
    width = max([28] + [len(name) + 2 for name in [*result.by_module, *result.by_category]])
    lines += [
        f'  {name:<{width}}{flops / 1e9:>10.3f} GFLOPs' for name, flops in result.by_module.items()
    ]
    lines.append('By operation:')
    lines += [
        f'  {name:<{width}}{flops / 1e9:>10.3f} GFLOPs'
        for name, flops in result.by_category.items()
    ]
    lines.append(split_line)
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(args.config):  # before the (slow) imports of the codebases
        raise FileNotFoundError(f'config file not found: {args.config}')
    from tcformer_mm.analysis import config_flops
    from tcformer_mm.analysis.config_flops import default_hw
    from tcformer_mm.analysis.flops import input_hw
    from tcformer_mm.utils.launch import add_repo_root_to_path, load_config

    add_repo_root_to_path(__file__)  # for configs that import projects.<name>.<name>
    cfg = load_config(args.config, args.cfg_options)
    hw = input_hw(args.shape) if args.shape else default_hw(cfg)
    result = config_flops(cfg, hw, args.in_channels, convention=args.convention, depth=args.depth)
    print(format_result(result, hw))
    print('Counted for one image with the TCFormer papers\' rules; compare with other '
          'counters (fvcore, mmengine) only with care: they count norms, biases and '
          'attention differently.')


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, TypeError, KeyError) as e:
        # Bad input (missing config, unbuildable model, input too small): one line, no trace.
        sys.exit(f'get_flops.py: error: {e}')
