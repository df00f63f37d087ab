"""Export a TCFormer model (a whole classifier, or the backbone) to ONNX and check it.

The released TCFormer code could not be exported: its token <-> map transforms were
``torch.sparse`` matrix products. Traced, they are gathers and ``index_add`` sums over the
(pixel, token) pairs padded to the grid cells (``tcformer_mm/ops/pair_sums.py``), which export
with PyTorch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``). A few aten
ops have no usable ONNX symbolic in that exporter; :func:`register_symbolics` maps them onto
ONNX ops:

- ``index_add`` with repeated indices -> ``ScatterElements(reduction='add')``;
- ``sort(stable=True)`` -> ``TopK`` over the whole axis (ONNX's TopK breaks ties by the lower
  index, which is what a stable sort does);
- ``bincount(minlength=M)`` with values below M -> ``ScatterElements`` of ones;
- ``scatter_reduce(include_self=True)`` -> one ``ScatterElements`` (the built-in symbolic wraps
  it in an ``If`` whose branches disagree on the rank, which onnxruntime rejects).

The graph is for one input size (batch 1, ``--shape``): the number of tokens and of clustering
parts follow from it. It takes the normalised image (the data preprocessor's mean / std are
not part of it). ``--verify`` runs onnxruntime on the traced input and on a second random
input and fails when an output differs from PyTorch's by more than ``--atol``.

Example::

    python tools/deployment/pytorch2onnx.py \\
        configs/classification/tcformer/tcformerv2-tiny_8xb128_in1k.py CHECKPOINT \\
        --shape 224 224 --out tcformerv2-tiny.onnx --verify
"""
import argparse
import logging
import os
import os.path as osp
import sys
import warnings

import numpy as np
import torch
from torch import nn

OPSET = 18
PROG = osp.basename(__file__)
_REDUCTIONS = {'sum': 'add', 'prod': 'mul', 'amax': 'max', 'amin': 'min'}


def register_symbolics() -> None:
    """Register the ONNX symbolics of the aten ops listed in the module docstring, for every
    opset from 16 on (ScatterElements' add reduction; max / min need 18, which the command
    line checks)."""
    from torch.onnx import register_custom_op_symbolic
    from torch.onnx import symbolic_helper as sh

    def index_add(g, self, dim, index, source, alpha=None):
        dim = sh._get_const(dim, 'i', 'dim')
        if alpha is not None and not sh._is_none(alpha) and sh._maybe_get_const(alpha, 'f') != 1:
            raise RuntimeError('ONNX export of index_add supports alpha=1 only')
        rank = sh._get_tensor_rank(source)
        if rank is None:
            raise RuntimeError('ONNX export of index_add needs the rank of the source')
        dim %= rank
        if rank > 1:  # (K,) -> shape of source, the index varying along dim
            axes = [a for a in range(rank) if a != dim]
            index = g.op('Unsqueeze', index, g.op('Constant', value_t=torch.tensor(axes)))
        index = g.op('Expand', index, g.op('Shape', source))
        return g.op('ScatterElements', self, index, source, axis_i=dim, reduction_s='add')

    def sort(g, self, *args):
        # aten::sort(self, dim, descending) or aten::sort.stable(self, stable, dim, descending)
        dim, descending = args[-2:]
        dim = sh._get_const(dim, 'i', 'dim') % sh._get_tensor_rank(self)
        descending = sh._get_const(descending, 'b', 'descending')
        k = g.op('Gather',
                 g.op('Shape', self),
                 g.op('Constant', value_t=torch.tensor([dim])),
                 axis_i=0)
        return g.op('TopK', self, k, axis_i=dim, largest_i=int(descending), sorted_i=1, outputs=2)

    def bincount(g, self, weights, minlength):
        if not sh._is_none(weights):
            raise RuntimeError('ONNX export of bincount supports weights=None only')
        size = g.op('Reshape', minlength, g.op('Constant', value_t=torch.tensor([1])))
        zeros = g.op('ConstantOfShape', size, value_t=torch.tensor([0]))
        ones = g.op('ConstantOfShape', g.op('Shape', self), value_t=torch.tensor([1]))
        return g.op('ScatterElements', zeros, self, ones, axis_i=0, reduction_s='add')

    @sh.parse_args('v', 'i', 'v', 'v', 's', 'b')
    def scatter_reduce(g, self, dim, index, src, reduce, include_self):
        if not include_self or reduce not in _REDUCTIONS:
            raise RuntimeError(f'ONNX export of scatter_reduce supports include_self=True and '
                               f'reduce in {sorted(_REDUCTIONS)}, got reduce={reduce!r}, '
                               f'include_self={include_self}')
        return g.op('ScatterElements',
                    self,
                    index,
                    src,
                    axis_i=dim,
                    reduction_s=_REDUCTIONS[reduce])

    for name, fn in [('index_add', index_add), ('sort', sort), ('bincount', bincount),
                     ('scatter_reduce', scatter_reduce)]:
        register_custom_op_symbolic(f'aten::{name}', fn, 16)


class TensorOutputs(nn.Module):
    """``model(x)`` as a flat tuple of tensors: maps of a backbone, ``mode='tensor'`` of a
    whole model (a classifier's class scores)."""

    def __init__(self, model: nn.Module, whole_model: bool):
        super().__init__()
        self.model = model
        self.whole_model = whole_model

    def forward(self, x):
        outs = self.model(x, mode='tensor') if self.whole_model else self.model(x)
        flat = []

        def _flatten(value):
            if isinstance(value, torch.Tensor):
                flat.append(value)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    _flatten(v)
            else:
                raise TypeError(f'cannot export an output of type {type(value).__name__}')

        _flatten(outs)
        return tuple(flat)


def init_weights_quietly(model: nn.Module) -> None:
    """``model.init_weights()`` without mmengine's INFO entry for every parameter.

    mmengine writes that dump to the console when no log file is open; warnings still show.
    """
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def build_model(config: str,
                checkpoint=None,
                backbone_only: bool = False,
                cfg_options=None) -> nn.Module:
    """Build the config's model (or its backbone with map outputs), weights loaded, eval.

    Raises:
        FileNotFoundError: If the config or the checkpoint does not exist.
        TypeError, ValueError: If the config does not load, or the checkpoint is not one or
            does not fit the model; the message names the file.
    """
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    from tcformer_mm.checkpoint import load_checkpoint_file
    from tcformer_mm.checkpoint.convert import (check_tcformer_checkpoint, checkpoint_state_dict,
                                                is_released_classifier, load_converted_state_dict,
                                                mismatch_summary, tcformer_classifier_convert,
                                                tcformer_convert)
    from tcformer_mm.models import TCFormer
    from tcformer_mm.utils.launch import load_config
    cfg = load_config(config, cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'the config {config} has no model')
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = cfg.model
    if backbone_only:
        model_cfg = model_cfg.backbone
        model_cfg.output_format = 'maps'
    # Weights come from the checkpoint argument, not from pre-training paths in the config.
    model_cfg.pop('init_cfg', None)
    if not backbone_only and 'backbone' in model_cfg:
        model_cfg.backbone.pop('init_cfg', None)
    model = MODELS.build(model_cfg)
    if checkpoint is None:
        init_weights_quietly(model)
        return model.eval()
    # No init_weights: the strict load below sets every parameter and buffer.
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    backbone = model if backbone_only else getattr(model, 'backbone', None)
    if isinstance(backbone, TCFormer):
        check_tcformer_checkpoint(ckpt, source=checkpoint)
    if backbone_only:
        state_dict = tcformer_convert(ckpt)
    else:
        if is_released_classifier(ckpt):
            ckpt = {'state_dict': tcformer_classifier_convert(ckpt)}
        state_dict = checkpoint_state_dict(ckpt, source=checkpoint)
    problem = mismatch_summary(model, state_dict)
    if problem is not None:
        what = 'backbone' if backbone_only else 'model'
        raise ValueError(f'{checkpoint} does not fit the {what} of {config}: {problem}')
    if backbone_only:
        load_converted_state_dict(model, state_dict, source=checkpoint)
    else:
        _load_checkpoint_to_model(model, ckpt, strict=True)
    return model.eval()


def export(model: nn.Module,
           shape,
           out: str,
           whole_model: bool,
           opset: int = OPSET) -> torch.Tensor:
    """Export ``model`` for a (1, 3, H, W) input to ``out``; return the traced input."""
    register_symbolics()
    wrapper = TensorOutputs(model, whole_model).eval()
    x = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about every Python int taken from a tensor; those that are not
        # fixed by the input size were removed from the token ops, --verify checks the rest.
        warnings.simplefilter('ignore')
        torch.onnx.export(wrapper, (x, ),
                          out,
                          dynamo=False,
                          opset_version=opset,
                          input_names=['input'],
                          do_constant_folding=True)
    return x


def verify(model: nn.Module,
           onnx_file: str,
           x: torch.Tensor,
           whole_model: bool,
           atol: float = 1e-4) -> list:
    """Max |PyTorch - onnxruntime| per output, for ``x`` and a second random input.

    Raises:
        AssertionError: If a shape differs or an output differs by more than ``atol``.
    """
    import onnx
    import onnxruntime as ort
    onnx.checker.check_model(onnx_file)
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    wrapper = TensorOutputs(model, whole_model).eval()
    other = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) * 4 - 2
    errors = []
    for inputs in (x, other):
        with torch.no_grad():
            expected = wrapper(inputs)
        got = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})
        if len(got) != len(expected):
            raise AssertionError(f'onnxruntime gave {len(got)} outputs, PyTorch {len(expected)}')
        for i, (e, g) in enumerate(zip(expected, got)):
            if tuple(e.shape) != g.shape:
                raise AssertionError(f'output {i}: onnxruntime shape {g.shape}, PyTorch '
                                     f'{tuple(e.shape)}')
            err = float(np.abs(e.numpy() - g).max())
            if not err <= atol:
                raise AssertionError(f'output {i} differs from PyTorch by {err:.3g} > {atol}')
            errors.append(err)
    return errors


def parse_args(argv=None):
    from tcformer_mm.utils.launch import (add_cfg_options_argument, add_size_argument,
                                          add_trust_argument, apply_trust)
    parser = argparse.ArgumentParser(description='Export a TCFormer model to ONNX.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint (random weights if omitted)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    add_size_argument(parser, default=[224, 224], help='input size (default 224 224)')
    parser.add_argument('--backbone-only',
                        action='store_true',
                        help="export the backbone (its feature maps) instead of the model")
    parser.add_argument('--verify',
                        action='store_true',
                        help='compare onnxruntime with PyTorch on two inputs')
    parser.add_argument('--atol', type=float, default=1e-4, help='tolerance of --verify')
    parser.add_argument('--opset', type=int, default=OPSET, help=f'ONNX opset (default {OPSET})')
    add_cfg_options_argument(parser)
    add_trust_argument(parser)
    args = parser.parse_args(argv)
    apply_trust(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'{PROG}: config file not found: {args.config}')
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        sys.exit(f'{PROG}: checkpoint file not found: {args.checkpoint}')
    if min(args.shape) <= 0:
        sys.exit(f'{PROG}: --shape H W must be positive, got {args.shape[0]} {args.shape[1]}')
    if args.opset < 18:
        sys.exit(f'{PROG}: --opset {args.opset}: ScatterElements with max / min reduction (the '
                 'CTM) needs opset 18 or newer')
    try:
        model = build_model(args.config, args.checkpoint, args.backbone_only, args.cfg_options)
    except (FileNotFoundError, TypeError, ValueError) as e:
        sys.exit(f'{PROG}: {e}')
    from tcformer_mm.models import TCFormer
    backbone = model if args.backbone_only else getattr(model, 'backbone', None)
    if isinstance(backbone, TCFormer):
        problem = backbone._size_problem(*args.shape)
        if problem is not None:
            sys.exit(f'{PROG}: --shape {args.shape[0]} {args.shape[1]} is too small: {problem}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    x = export(model, args.shape, args.out, not args.backbone_only, args.opset)
    print(f'exported {args.out} for input 1x3x{args.shape[0]}x{args.shape[1]}')
    if args.verify:
        try:
            errors = verify(model, args.out, x, not args.backbone_only, args.atol)
        except AssertionError as e:
            sys.exit(f'{PROG}: verification failed: {e}')
        print(f'onnxruntime matches PyTorch on 2 inputs: max abs difference {max(errors):.3g} '
              f'(atol {args.atol})')


if __name__ == '__main__':
    main()
