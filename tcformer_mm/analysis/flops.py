"""FLOPs of TCFormer models, counted the way the TCFormer papers count them.

The papers' GFLOPs columns come from a ptflops-style counter (the mmcv 1.x
``get_model_complexity_info`` lineage) extended with rules for the dynamic-token operations;
the rules below were checked against the authors' released counter (TCFormer-Light / TCFormer /
TCFormer-Large at 224 x 224: 3.84 / 5.83 / 12.15 GFLOPs, the same with local clustering: 2.50 /
4.49 / 10.81). Multiply-accumulates count once. This module reproduces that counter with forward
hooks keyed by module class, so the model code stays free of counting logic:

- ordinary layers, ptflops' rules (:data:`LAYER_RULES`): Conv ``positions x C_in / groups x k x
  C_out`` plus one per output element for the bias; Linear ``numel(input) x C_out``; norms
  ``numel(input)``, doubled when affine; ReLU family ``numel(output)``; pooling
  ``numel(input)``; up-sampling ``numel(output)``; GELU, softmax, dropout and element-wise sums
  are free. ``nn.MultiheadAttention`` (functional inside) counts its four projections and
  ``2 x N_q x N_k x C``; mmdet's ``Mask2FormerHead`` its mask-prediction einsums
  ``Q x H x W x C`` per decoder layer.
- attention: ``2 x N_q x M x C`` (QK^T and AV) with M the key count, the tokens entering the
  key/value projection ``kv``: ``(h / r) x (w / r)`` after a map-based reduction, h x w the
  query's map (the papers' rule), the merged tokens of a CR layer, or the keys given already
  reduced; plus a token->map of the keys before a map-based reduction. Without a reduction the
  papers' rule takes ``h x w`` as the key count, whatever the keys.
- token transforms: token->map, map->token and token->token cost ``N_0 x (C + 4)`` each,
  N_0 the number of initial grid cells; a :class:`TokenConv` is its conv on the map, its 1x1
  skip conv and one token->map plus one map->token.
- the CTM's clustering and merge: the clustering method's own rule (``method.flops``, in its
  module under ``ops/clustering/``; ``N`` input tokens, ``C`` output channels, ``P`` parts,
  ``M`` clusters per part) plus ``N C`` for the merge. DPC-kNN ``N^2 C / P + N k + N^2 / P``
  is the papers' rule. The released counter's rules for k-means and BSM are not known: theirs
  count every similarity twice (a multiply and an add), which is what reproduces TPAMI Table
  IX's k-means and BSM rows (11.7 and 6.0 GFLOPs); CTM-topk has no published count and is
  counted like DPC-kNN's assignment.

The rules never read a forward's arguments by name, so renaming a layer's keyword leaves the
count alone. They read the module's attributes (its widths, ratios, modes), its output, and its
inputs by type: the first tensor (ordinary layers), the first :class:`TokenSet` among the
positional then keyword arguments, looking into lists and tuples (a token layer's input, an
attention's query, the MTA's first level). Every token set of one forward shares N_0. An
attention's key count is the token count entering its ``kv`` projection, which a second hook
on that projection records; keys that enter it as a token set argument's own features were
given already reduced (no reduction ran). ``nn.MultiheadAttention``'s query and key are its
first two tensors (its signature's order, in which mmcv passes them).

Two conventions (:data:`CONVENTIONS`): ``'papers'`` (the default) leaves out what the papers'
counter left out, ``'full'`` counts it too:

- the MTA neck's token up-sampling (token->token) and the token->map transforms that turn
  tokens into output feature maps (MTA outputs, the MTA's extra-level source, a backbone with
  ``output_format='maps'``), ``N_0 x (C + 4)`` each: the released counter had no rule for them
  (without them it gives TPAMI Table II's 8.7 / 38.7). 0.03 GFLOPs at 512 x 512.
- the attention products (QK^T, AV) of CR-MTA merge blocks, whose keys come from the
  clustering reduction: TPAMI Tables II (V2 rows), V and VIII are reproduced only without them
  (e.g. Semantic FPN + CR-MTA, V2-Small: 44.4 GFLOPs, 47.3 with them); their projections are
  counted in both.

:class:`FlopsResult` reports the left-out amounts either way.
"""
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from tcformer_mm.models.backbones import TCFormer
from tcformer_mm.models.layers import (CTM, ClusteringReduction, GridAttention, TCAttention,
                                       TokenConv)
from tcformer_mm.models.necks import MTA
from tcformer_mm.ops import TokenSet
from tcformer_mm.ops.clustering import ClusteringMethod, clusters_per_part

#: The MTA's token up-sampling and output token->map transforms (see the module docstring).
OUTPUT_TRANSFORMS = 'MTA up-sampling + output token->map'
#: The attention products of blocks with a clustering reduction (CR-MTA).
CR_ATTENTION = 'CR-MTA attention'
#: What the papers' counter left out; counted with ``convention='full'``.
PAPERS_OMIT = (OUTPUT_TRANSFORMS, CR_ATTENTION)
CONVENTIONS = ('papers', 'full')
#: Categories of the breakdown, in print order.
CATEGORIES = ('conv', 'linear', 'norm', 'activation/pooling', 'attention', 'token transforms',
              'clustering + merge') + PAPERS_OMIT


@dataclass
class FlopsResult:
    """What :func:`count_flops` found for one forward of one image.

    Attributes:
        flops (int): Total FLOPs (multiply-accumulates counted once).
        params (int): Number of parameters of the model.
        by_category (dict[str, int]): FLOPs per kind of operation (:data:`CATEGORIES`).
        by_module (dict[str, int]): FLOPs per module of the model, by name down to the
            counter's ``depth`` (``backbone``, ``neck``, ``head`` ... at depth 1).
        convention (str): ``'papers'`` or ``'full'`` (module docstring).
        papers_omit (dict[str, int]): FLOPs of what the papers' counter left out
            (:data:`PAPERS_OMIT`), whichever the convention; in ``flops`` only for ``'full'``.
    """

    flops: int
    params: int
    by_category: Dict[str, int] = field(default_factory=dict)
    by_module: Dict[str, int] = field(default_factory=dict)
    convention: str = 'papers'
    papers_omit: Dict[str, int] = field(default_factory=dict)

    @property
    def gflops(self) -> float:
        return self.flops / 1e9


def token_transform_flops(tokens: TokenSet, channels: int) -> int:
    """One token->map, map->token or token->token transform: ``N_0 x (C + 4)``."""
    h0, w0 = tokens.init_grid_size
    return h0 * w0 * (channels + 4)


def conv_flops(conv: nn.Module, out_positions: int) -> int:
    """ptflops' conv rule for ``out_positions`` output positions (batch included)."""
    kernel = math.prod(conv.kernel_size)
    per_position = kernel * conv.in_channels * conv.out_channels // conv.groups
    bias = conv.out_channels * out_positions if conv.bias is not None else 0
    return per_position * out_positions + bias


def _conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def clustering_flops(method: ClusteringMethod, num_tokens: int, channels: int,
                     num_parts: int) -> int:
    """FLOPs of a CTM's clustering and merge of ``num_tokens`` tokens (one image).

    Args:
        method (ClusteringMethod): The CTM's clustering method; its :meth:`flops` is the rule.
        num_tokens (int): N, the CTM's input token count.
        channels (int): C, the CTM's output channels (the clustered features).
        num_parts (int): P, spatial parts clustered separately.

    Returns:
        int: FLOPs. The merge (eq. 3) costs ``N C`` for every method.
    """
    clusters = clusters_per_part(num_tokens, num_parts, method.ratio, num_tokens)
    return method.flops(num_tokens, channels, num_parts, clusters) + num_tokens * channels


def _of_type(cls: type, args: tuple, kwargs: dict) -> List:
    """A forward's arguments of type ``cls``, positional then keyword, looking one level into
    lists and tuples: how the rules read inputs, never by name."""
    found = []
    for value in (*args, *kwargs.values()):
        for item in (value if isinstance(value, (list, tuple)) else (value, )):
            if isinstance(item, cls):
                found.append(item)
    return found


def _first(cls: type, args: tuple, kwargs: dict):
    """The first argument of type ``cls`` (see :func:`_of_type`)."""
    found = _of_type(cls, args, kwargs)
    if not found:
        raise TypeError(f'no {cls.__name__} input')
    return found[0]


def _positions(x: torch.Tensor) -> int:
    """Spatial positions of a (B, C, ...) tensor, batch included."""
    return x[0, 0].numel() * x.shape[0]


def _deconv_flops(conv: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    """ptflops' transposed-conv rule: the kernel at every input position, plus the bias."""
    per_position = math.prod(conv.kernel_size) * conv.in_channels * conv.out_channels // conv.groups
    bias = conv.out_channels * _positions(out) if conv.bias is not None else 0
    return per_position * _positions(x) + bias


def _affine(norm: nn.Module) -> bool:
    return getattr(norm, 'affine', False) or getattr(norm, 'elementwise_affine', False)


def _nd(*names: str) -> Tuple[type, ...]:
    """``torch.nn``'s 1d, 2d and 3d classes of these names."""
    return tuple(getattr(nn, f'{name}{d}d') for name in names for d in (1, 2, 3))


#: ptflops' rules for ordinary layers: module classes -> (category, FLOPs of (module, first
#: input tensor, output)), looked up along the module's MRO.
LAYER_RULES: Dict[Tuple[type, ...], Tuple[str, Callable]] = {
    _nd('Conv'): ('conv', lambda m, x, out: conv_flops(m, _positions(out))),
    _nd('ConvTranspose'): ('conv', _deconv_flops),
    (nn.Linear, ): ('linear', lambda m, x, out: x.numel() * m.out_features),
    (nn.LayerNorm, nn.GroupNorm, nn.SyncBatchNorm) + _nd('BatchNorm', 'InstanceNorm'):
    ('norm', lambda m, x, out: x.numel() * (2 if _affine(m) else 1)),
    (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.Upsample):
    ('activation/pooling', lambda m, x, out: out.numel()),
    _nd('MaxPool', 'AvgPool', 'AdaptiveMaxPool', 'AdaptiveAvgPool'):
    ('activation/pooling', lambda m, x, out: x.numel()),
}


class FlopCounter:
    """Count the FLOPs of forwards of ``model`` with forward hooks, by module class.

    Use as a context manager around the forward(s); the counts are per call summed over the
    batch, so count one image.

    Args:
        model (nn.Module): Any model; TCFormer's modules get the dynamic-token rules, the
            rest (OpenMMLab necks and heads) ptflops' rules.
        convention (str): ``'papers'``: leave out what the papers' counter left out (the
            MTA's token up-sampling and output token->map transforms, the CR-MTA attention
            products), which reproduces their tables; ``'full'``: count everything.
            Defaults to ``'papers'``.
        depth (int): Module-name depth of the ``by_module`` breakdown (1: ``backbone``,
            ``neck``, ``head``). Defaults to 1.

    Examples:
        >>> with FlopCounter(model) as counter:
        ...     model(torch.rand(1, 3, 224, 224))
        >>> counter.total
    """

    def __init__(self, model: nn.Module, convention: str = 'papers', depth: int = 1):
        if convention not in CONVENTIONS:
            raise ValueError(f'convention must be one of {CONVENTIONS}, got {convention!r}')
        self.model = model
        self.convention = convention
        self.depth = depth
        self.by_category: Dict[str, int] = defaultdict(int)
        self.by_module: Dict[str, int] = defaultdict(int)
        self.papers_omit: Dict[str, int] = {k: 0 for k in PAPERS_OMIT}
        self._handles = []
        # What entered each attention's kv projection during its forward (popped by its rule).
        self._keys: Dict[nn.Module, torch.Tensor] = {}
        # Module classes -> rule(module, args, kwargs, output) -> {category: FLOPs}; looked up
        # along the MRO, so subclasses (mmcv's Conv2d wrapper) inherit their base's rule and
        # TokenConv, a Conv2d, gets its own.
        self._rules: Dict[type, Callable] = {
            cls: self._layer_rule(category, count)
            for classes, (category, count) in LAYER_RULES.items()
            for cls in classes
        }
        self._rules.update({
            TokenConv: self._token_conv,
            GridAttention: self._grid_attention,
            TCAttention: self._tc_attention,
            ClusteringReduction: self._clustering_reduction,
            CTM: self._ctm,
            MTA: self._mta,
            TCFormer: self._backbone,
            nn.MultiheadAttention: self._multihead_attention,
        })
        try:
            from mmdet.models.dense_heads import Mask2FormerHead
        except ImportError:  # mmdet is optional
            pass
        else:
            self._rules[Mask2FormerHead] = self._mask2former_head

    # ------------------------------------------------------------------------ registration
    def _rule(self, module: nn.Module) -> Optional[Callable]:
        for cls in type(module).__mro__:
            if cls in self._rules:
                return self._rules[cls]
        return None

    def __enter__(self) -> 'FlopCounter':
        self._register(self.model, '')
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._keys.clear()

    def _register(self, module: nn.Module, name: str) -> None:
        rule = self._rule(module)
        if rule is not None:
            top = '.'.join(name.split('.')[:self.depth]) if name else '(model)'
            self._handles.append(
                module.register_forward_hook(self._hook(rule, top), with_kwargs=True))
        if isinstance(module, (GridAttention, TCAttention)):
            self._handles.append(
                module.kv.register_forward_hook(self._remember_keys, with_kwargs=True))
        for child_name, child in module.named_children():
            # A TokenConv's rule covers its skip conv (which its forward mostly runs as a
            # matmul, not as a module call); an nn.MultiheadAttention's covers its out_proj.
            if isinstance(module, (TokenConv, nn.MultiheadAttention)):
                continue
            self._register(child, f'{name}.{child_name}' if name else child_name)

    def _hook(self, rule: Callable, top: str) -> Callable:

        def hook(module, args, kwargs, output):
            for category, flops in rule(module, args, kwargs, output).items():
                if category in PAPERS_OMIT:
                    self.papers_omit[category] += int(flops)
                    if self.convention == 'papers':
                        continue
                self.by_category[category] += int(flops)
                self.by_module[top] += int(flops)

        return hook

    def _remember_keys(self, kv, args, kwargs, output) -> None:
        self._keys[kv] = _first(torch.Tensor, args, kwargs)

    @property
    def total(self) -> int:
        return sum(self.by_category.values())

    # ------------------------------------------------------------------ ptflops-style rules
    @staticmethod
    def _layer_rule(category: str, count: Callable) -> Callable:
        """A :data:`LAYER_RULES` entry as a rule."""
        return lambda module, args, kwargs, output: {
            category: count(module, _first(torch.Tensor, args, kwargs), output)
        }

    def _multihead_attention(self, module, args, kwargs, output):
        # nn.MultiheadAttention runs its projections functionally: q/k/v in-projections,
        # QK^T and AV, and the out-projection (as later ptflops versions count it; mmcv 1.x's
        # counter skipped the module, which would leave Mask2Former's decoder half counted).
        query, key = _of_type(torch.Tensor, args, kwargs)[:2]
        if not module.batch_first and query.dim() == 3:
            query, key = query.transpose(0, 1), key.transpose(0, 1)
        batch = query.shape[0] if query.dim() == 3 else 1
        n_q, n_k = query.shape[-2], key.shape[-2]
        e, kdim, vdim = module.embed_dim, module.kdim, module.vdim
        proj = n_q * e * e + n_k * kdim * e + n_k * vdim * e + n_q * e * e
        return {'linear': batch * proj, 'attention': batch * 2 * n_q * n_k * e}

    def _mask2former_head(self, module, args, kwargs, output):
        # Its per-layer mask prediction is a functional einsum of the query embeddings with the
        # mask features, 'bqc,bchw->bqhw', which module hooks cannot see: Q x H x W x C each.
        channels = module.mask_embed[-1].out_features
        return {'linear': sum(mask.numel() * channels for mask in output[1])}

    # ------------------------------------------------------------------ dynamic-token rules
    def _grid_attention(self, module, args, kwargs, output):
        # The keys: the sr x sr reduced map, (h / r) x (w / r), or the N tokens themselves.
        keys = self._keys.pop(module.kv).shape[-2]
        b, n, c = output.shape
        return {'attention': 2 * b * n * keys * c}

    def _tc_attention(self, module, args, kwargs, output):
        keys = self._keys.pop(module.kv)
        token_sets = _of_type(TokenSet, args, kwargs)
        query = token_sets[0]
        b, n_q, c = output.shape
        if module.kv_reduction is None:
            # No reduction (r = 1): the papers' rule takes the query's map size, h x w, as the
            # key count. It is the key count of self-attention; the first block of the last
            # stage attends to the 4x more pre-merge tokens, which the papers do not count
            # (7.4 MFLOPs at 224x224).
            return {'attention': 2 * b * n_q * math.prod(query.map_size) * c}
        attention = 2 * b * n_q * keys.shape[-2] * c
        if any(keys is tokens.x for tokens in token_sets):  # given already reduced
            return {'attention': attention}
        if module.kv_reduction == 'cr':
            return {CR_ATTENTION: attention}  # the merge is ClusteringReduction's
        # 'sr' / 'pool': the keys (and their score) are drawn on the query's map first.
        return {'attention': attention, 'token transforms': b * token_transform_flops(query, c)}

    def _clustering_reduction(self, module, args, kwargs, output):
        merged = output[0]  # (B, M, C): the merge of the first token set (C channels)
        tokens = _first(TokenSet, args, kwargs)
        return {
            'token transforms': merged.shape[0] * token_transform_flops(tokens, merged.shape[-1])
        }

    def _token_conv(self, module, args, kwargs, output):
        tokens = _first(TokenSet, args, kwargs)
        b, n, c_in = tokens.x.shape
        h, w = tokens.map_size
        settings = zip(module.kernel_size, module.stride, module.padding, module.dilation)
        out_positions = math.prod(
            _conv_out_size(size, *setting) for size, setting in zip((h, w), settings))
        return {
            'conv':
            conv_flops(module, b * out_positions) +
            b * n * c_in * module.out_channels // module.groups,  # the 1x1 skip, no bias
            'token transforms':
            b * (token_transform_flops(tokens, c_in) +
                 token_transform_flops(tokens, module.out_channels)),
        }

    def _ctm(self, module, args, kwargs, output):
        b, n, _ = _first(TokenSet, args, kwargs).x.shape
        c = module.score.in_features
        return {
            'clustering + merge': b * clustering_flops(module.clustering, n, c, module.num_parts)
        }

    def _mta(self, module, args, kwargs, output):
        tokens = _first(TokenSet, args, kwargs)  # the first level; all share N_0
        b = tokens.x.shape[0]
        one = b * token_transform_flops(tokens, module.out_channels)
        num_levels = len(module.lateral_convs)
        flops = (num_levels - 1) * one  # token up-sampling into every lower level
        if module.output_format == 'maps':
            flops += num_levels * one  # every level drawn as a map
            extra = module.num_outs - num_levels
            if extra > 0 and module.add_extra_convs == 'on_input':
                source_channels = module.in_channels[module.backbone_end_level - 1]
                flops += b * token_transform_flops(tokens, source_channels)
            elif extra > 0 and module.add_extra_convs == 'on_lateral':
                flops += one
        return {OUTPUT_TRANSFORMS: flops}

    def _backbone(self, module, args, kwargs, output):
        if module.output_format != 'maps':
            return {}
        h, w = _first(torch.Tensor, args, kwargs).shape[-2:]
        stride = module.patch_stride
        n0 = ((h - 1) // stride + 1) * ((w - 1) // stride + 1)  # the stage-1 grid
        b = output[0].shape[0]
        flops = sum(b * n0 * (out.shape[1] + 4) for out in output)
        return {OUTPUT_TRANSFORMS: flops}


def count_flops(model: nn.Module,
                inputs,
                forward: Optional[Callable] = None,
                convention: str = 'papers',
                depth: int = 1) -> FlopsResult:
    """FLOPs of one forward of ``model``, counted as the TCFormer papers count them.

    Args:
        model (nn.Module): The model (put in eval mode here).
        inputs: Input of the forward; a batch of one image.
        forward (callable, optional): ``forward(model, inputs)`` runs the model, for models
            whose call needs more than the input (OpenMMLab ``mode='tensor'``). Defaults to
            ``model(inputs)``.
        convention (str): ``'papers'`` or ``'full'``, see :class:`FlopCounter`.
            Defaults to ``'papers'``.
        depth (int): Module-name depth of ``by_module``. Defaults to 1.

    Returns:
        FlopsResult: Totals and breakdowns.
    """
    model.eval()
    counter = FlopCounter(model, convention=convention, depth=depth)
    with torch.no_grad(), counter:
        if forward is None:
            model(inputs)
        else:
            forward(model, inputs)
    by_category = {k: counter.by_category[k] for k in CATEGORIES if counter.by_category.get(k)}
    return FlopsResult(flops=counter.total,
                       params=sum(p.numel() for p in model.parameters()),
                       by_category=by_category,
                       by_module=dict(counter.by_module),
                       convention=convention,
                       papers_omit=dict(counter.papers_omit))


def input_hw(shape) -> Tuple[int, int]:
    """(H, W) from a CLI ``--shape`` (one or two ints)."""
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    raise ValueError(f'--shape takes H W or one size, got {list(shape)}')
