"""TCFormer backbone: Token Clustering Transformer V1 (CVPR 2022) and V2 (TPAMI 2024)."""
import copy
import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader

from tcformer_mm.checkpoint.convert import load_converted_state_dict, tcformer_convert
from tcformer_mm.checkpoint.names import rename_to_stages_
from tcformer_mm.ops import TokenSet, token2map
from tcformer_mm.ops.clustering import ClusteringMethod
from tcformer_mm.ops.clustering.distance import DEFAULT_BLOCK_BYTES
from tcformer_mm.registry import register_module
from ..layers import CTM, GridBlock, OverlapPatchEmbed, TCBlock
from ..weight_init import released_init
from .memory_check import available_memory, check_memory
from .tcformer_stage import TCFormerStage

#: Settings shared by every preset (supplement Table S1): channels, heads, MLP expansion and
#: key/value reduction ratios of stages 1-4.
_WIDTHS = dict(embed_dims=[64, 128, 320, 512],
               num_heads=[1, 2, 5, 8],
               mlp_ratios=[8, 8, 4, 4],
               sr_ratios=[8, 4, 2, 1])
_GLOBAL_PARTS = [1, 1, 1]  # V1: global CTM
_LOCAL_PARTS = [16, 4, 1]  # V2: local CTM, 4x4 then 2x2 windows, then global


@register_module()
class TCFormer(BaseModule):
    """Token Clustering Transformer.

    A four-stage pyramid (:class:`TCFormerStage` s in :attr:`stages`): stage 0 works on the
    grid tokens of an overlapping patch embedding (stride 4); each of stages 1-3 starts with a
    Clustering-based Token Merge (CTM, the stage's ``downsample``) that merges the tokens to a
    quarter by DPC-kNN clustering (global in V1, local with 16 / 4 / 1 spatial parts in V2) and
    runs dynamic-token blocks (:class:`TCBlock`) whose first block
    attends from the merged to the pre-merge tokens with the importance score (eq. 4).

    Paper: "Not All Tokens Are Equal: Human-centric Visual Analysis via Token Clustering
    Transformer" (CVPR 2022) and "TCFormer: Visual Recognition via Token Clustering
    Transformer" (TPAMI 2024).

    Stage i is ``stages[i]``: ``downsample`` (the patch embedding or the CTM), ``blocks``
    and ``norm``. The released checkpoints name these modules ``patch_embed1``, ``ctm{i}``,
    ``block{i+1}`` and ``norm{i+1}``; every load renames them (``load_state_dict`` and
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``, which also reads the original
    classification and mmpose 0.x layouts; see :mod:`tcformer_mm.checkpoint.names`).

    Args:
        arch (str | dict): A preset of :attr:`arch_zoo` (``'v1-light'``, ``'v1'``,
            ``'v1-large'``, ``'v2-tiny'``, ``'v2-small'``, ``'v2-base'``) or a dict with exactly
            the keys ``embed_dims``, ``depths``, ``num_heads``, ``mlp_ratios``, ``sr_ratios``
            (4 values each) and ``num_parts`` (3 values). Defaults to ``'v2-small'``.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages (0-3) to output. Defaults to (0, 1, 2, 3).
        frozen_stages (int): Freeze (no grad, eval mode) the patch embedding of stage 0 when
            >= 0 and stages 0..frozen_stages-1 (with the CTM that starts each). -1 freezes
            nothing.
            Defaults to -1.
        drop_rate (float): Dropout after projections. Defaults to 0.
        attn_drop_rate (float): Attention dropout. Defaults to 0.
        drop_path_rate (float): Stochastic depth, increasing linearly over all blocks from 0
            to this value. Defaults to 0 (as released; the configs set it).
        clustering (str | dict): Clustering method of every CTM: a registered name
            (``tcformer_mm.ops.CLUSTERING_METHODS``) or a config ``dict(type=name, ratio=...,
            **method arguments)``, e.g. ``dict(type='dpc_knn', k=5)``; the method's defaults
            apply to what is left out. Defaults to ``'dpc_knn'``.
        num_parts (Sequence[int], optional): Spatial parts of the three CTMs; overrides the
            arch (e.g. ``(1, 1, 1)`` turns a V2 arch into global clustering). Defaults to None.
        use_ctm (bool): False replaces every CTM by a strided convolution (an overlapping patch
            embedding, 3x3 stride 2 + LayerNorm, the ``downsample`` of stages 1-3) and the
            dynamic-token
            blocks by grid blocks: the "w/o CTM" / "No CTM" ablation (CVPR Table 1, TPAMI
            Table VIII), PVTv2's architecture. Its tokens stay on the grid and are still output
            as token sets, so MTA necks take them. Defaults to True.
        output_format (str): ``'tokens'``: a :class:`TokenSet` per output stage (what the MTA
            neck consumes); ``'maps'``: feature maps (B, C_i, H_i, W_i) at strides 4, 8, 16, 32
            made by ``token2map``. Defaults to ``'tokens'``.
        with_cp (bool): Gradient checkpointing of every block while training. Defaults to
            False.
        compile (bool | dict): Run the forward (after the input checks) as one graph:
            ``torch.compile(..., fullgraph=True, dynamic=False)``, with the dict's keys as
            further arguments (e.g. ``dict(backend='aot_eager')`` or ``dict(mode=
            'max-autotune')``). The token ops then take their static formulation (no host
            synchronisation, see ``docs/design.md``). Every new input size compiles anew.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialization config. Defaults to None.

    Examples:
        >>> import torch
        >>> from tcformer_mm.models import TCFormer
        >>> model = TCFormer(arch='v2-small', output_format='maps').eval()
        >>> outs = model(torch.rand(1, 3, 224, 224))
        >>> [tuple(o.shape) for o in outs]
        [(1, 64, 56, 56), (1, 128, 28, 28), (1, 320, 14, 14), (1, 512, 7, 7)]
    """

    arch_zoo = {
        'v1-light': dict(depths=[2, 2, 2, 2], num_parts=_GLOBAL_PARTS, **_WIDTHS),
        'v1': dict(depths=[3, 4, 6, 3], num_parts=_GLOBAL_PARTS, **_WIDTHS),
        'v1-large': dict(depths=[3, 8, 27, 3], num_parts=_GLOBAL_PARTS, **_WIDTHS),
        'v2-tiny': dict(depths=[2, 2, 2, 2], num_parts=_LOCAL_PARTS, **_WIDTHS),
        'v2-small': dict(depths=[3, 4, 6, 3], num_parts=_LOCAL_PARTS, **_WIDTHS),
        'v2-base': dict(depths=[3, 8, 27, 3], num_parts=_LOCAL_PARTS, **_WIDTHS),
    }

    essential_keys = ('embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'sr_ratios', 'num_parts')
    num_stages = 4
    #: Stage-1 patch embedding: kernel 7, stride 4, padding 3.
    patch_stride = 4

    def __init__(self,
                 arch: Union[str, dict] = 'v2-small',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 clustering: Union[str, dict] = 'dpc_knn',
                 num_parts: Optional[Sequence[int]] = None,
                 use_ctm: bool = True,
                 output_format: str = 'tokens',
                 with_cp: bool = False,
                 compile: Union[bool, dict] = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        self.compile_cfg = self._check_compile(compile)
        self.arch_name = arch if isinstance(arch, str) else 'custom'
        self.arch_settings = self._resolve_arch(arch)
        if num_parts is not None:
            self.arch_settings['num_parts'] = self._check_list('num_parts', num_parts, 3)
        settings = self.arch_settings
        self.embed_dims = settings['embed_dims']
        self.depths = settings['depths']
        self.num_heads = settings['num_heads']
        self.mlp_ratios = settings['mlp_ratios']
        self.sr_ratios = settings['sr_ratios']
        self.num_parts = settings['num_parts']
        for part in self.num_parts:
            if part < 1 or math.isqrt(part)**2 != part:
                raise ValueError(f'num_parts must be squares (parts form a square grid of '
                                 f'windows), got {list(self.num_parts)}.')

        if isinstance(out_indices, int):
            out_indices = [out_indices]
        if len(out_indices) == 0:
            raise ValueError(f'TCFormer: out_indices selects no stage: expected at least one '
                             f'of 0-3, got {out_indices!r}.')
        for i in out_indices:
            if not -self.num_stages <= i < self.num_stages:
                raise ValueError(f'Invalid out_indices {i}: TCFormer has {self.num_stages} '
                                 f'stages (0-3, or -4 to -1 from the end).')
        self.out_indices = tuple(i % self.num_stages for i in out_indices)
        if output_format not in ('tokens', 'maps'):
            raise ValueError(f"output_format must be 'tokens' or 'maps', got "
                             f'{output_format!r}.')
        self.output_format = output_format
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self.attn_drop_rate = attn_drop_rate
        self.use_ctm = use_ctm
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'TCFormer: in_channels must be a positive integer, got '
                             f'{in_channels!r}.')
        self.in_channels = in_channels
        for name, rate in (('drop_rate', drop_rate), ('attn_drop_rate', attn_drop_rate),
                           ('drop_path_rate', drop_path_rate)):
            if not 0 <= rate < 1:
                raise ValueError(f'TCFormer: {name} is a probability in [0, 1), got {rate!r}.')

        dpr = torch.linspace(0, drop_path_rate, sum(self.depths)).tolist()
        self.stages = nn.ModuleList()
        for i in range(self.num_stages):
            first = sum(self.depths[:i])
            self.stages.append(
                self._make_stage(i, dpr[first:first + self.depths[i]], drop_rate, clustering))
        self.min_input_size = self._min_input_size()
        self._freeze_stages()

    def _make_stage(self, i: int, drop_path_rates: Sequence[float], drop_rate: float,
                    clustering: Union[str, dict]) -> TCFormerStage:
        """Stage i (0-based): its down-sampling (the stride-4 patch embedding for stage 0; for
        stages 1-3 the CTM, or the stride-2 patch embedding without CTM), blocks and norm."""
        # Built in the order of the released constructor (the patch embedding, then per stage
        # the blocks before the CTM): the layers that keep PyTorch's default initialisation
        # draw the same numbers for a given seed.
        downsample = self._make_downsample(i, clustering) if i == 0 else None
        block_cls = TCBlock if i > 0 and self.use_ctm else GridBlock
        blocks = nn.ModuleList([
            block_cls(self.embed_dims[i],
                      self.num_heads[i],
                      self.mlp_ratios[i],
                      sr_ratio=self.sr_ratios[i],
                      qkv_bias=True,
                      drop_rate=drop_rate,
                      attn_drop_rate=self.attn_drop_rate,
                      drop_path_rate=rate,
                      norm_eps=1e-6) for rate in drop_path_rates
        ])
        if downsample is None:
            downsample = self._make_downsample(i, clustering)
        return TCFormerStage(downsample,
                             blocks,
                             nn.LayerNorm(self.embed_dims[i], eps=1e-6),
                             with_cp=self.with_cp)

    def _make_downsample(self, i: int, clustering: Union[str, dict]) -> nn.Module:
        if i == 0:
            return OverlapPatchEmbed(self.in_channels,
                                     self.embed_dims[0],
                                     kernel_size=7,
                                     stride=self.patch_stride)
        if self.use_ctm:
            return CTM(self.embed_dims[i - 1],
                       self.embed_dims[i],
                       num_parts=self.num_parts[i - 1],
                       clustering=copy.deepcopy(clustering))
        return OverlapPatchEmbed(self.embed_dims[i - 1],
                                 self.embed_dims[i],
                                 kernel_size=3,
                                 stride=2)

    # ----------------------------------------------------------------------------- settings
    @classmethod
    def _resolve_arch(cls, arch: Union[str, dict]) -> dict:
        """Return a validated copy of the arch settings."""
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'Arch {arch!r} is not in the default archs '
                                 f'{sorted(cls.arch_zoo)}.')
            return copy.deepcopy(cls.arch_zoo[key])
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}.')
        missing = [k for k in cls.essential_keys if k not in arch]
        unknown = sorted(set(arch) - set(cls.essential_keys))
        if missing or unknown:
            raise ValueError(f'Custom arch dict: missing keys {missing}, unknown keys '
                             f'{unknown}; it needs exactly {list(cls.essential_keys)}.')
        settings = {
            k: cls._check_list(k, arch[k], 3 if k == 'num_parts' else cls.num_stages)
            for k in cls.essential_keys
        }
        for i, (dims, heads) in enumerate(zip(settings['embed_dims'], settings['num_heads'])):
            if (isinstance(heads, bool) or not isinstance(heads, int) or heads < 1
                    or dims % heads != 0):
                raise ValueError(f'Custom arch: num_heads of stage {i + 1} must be a positive '
                                 f'integer dividing its embed_dims {dims}, got {heads!r} '
                                 f'(embed_dims {settings["embed_dims"]}, num_heads '
                                 f'{settings["num_heads"]}).')
        return settings

    @staticmethod
    def _check_list(name: str, value, length: int) -> list:
        if not isinstance(value, (list, tuple)) or len(value) != length:
            raise ValueError(f'arch setting {name!r} must be a list of {length} values, got '
                             f'{value!r}.')
        return list(value)

    def _stage_map_sizes(self, h: int, w: int) -> List[Tuple[int, int]]:
        """Map size of every stage for an (h, w) input."""
        sizes = [((h - 1) // self.patch_stride + 1, (w - 1) // self.patch_stride + 1)]
        for _ in range(self.num_stages - 1):
            sizes.append(((sizes[-1][0] - 1) // 2 + 1, (sizes[-1][1] - 1) // 2 + 1))
        return sizes

    def _size_problem(self, h: int, w: int) -> Optional[str]:
        """Why an (h, w) input is too small, or None if it is not."""
        for i, (mh, mw) in enumerate(self._stage_map_sizes(h, w)):
            needs = []
            if self.sr_ratios[i] > 1:
                # The key/value reduction (conv or pool, kernel = stride = sr) needs a window.
                needs.append((self.sr_ratios[i], f'key/value reduction ratio '
                              f'{self.sr_ratios[i]}'))
            if i < self.num_stages - 1 and self.use_ctm:
                side = math.isqrt(self.num_parts[i])
                # Messages number the stages from 1, as the papers do.
                needs.append((side, f'{self.num_parts[i]} clustering parts in the CTM that '
                              f'starts stage {i + 2}'))
            for need, why in needs:
                if mh < need or mw < need:
                    return (f'stage {i + 1} works on a {mh}x{mw} token map but needs at least '
                            f'{need}x{need} ({why})')
        return None

    def _min_input_size(self) -> int:
        """Smallest square input side the model takes (also the minimum per side)."""
        side = 1
        while self._size_problem(side, side) is not None:
            side += 1
        return side

    # -------------------------------------------------------------------------- clustering
    def set_clustering(self, clustering: Union[dict, str, ClusteringMethod]) -> None:
        """Swap the clustering method of every CTM on a built (trained) model.

        Weights are untouched (TPAMI Table IX, supplement Table S3).

        Args:
            clustering (dict | str | ClusteringMethod): Config for ``build_clustering``,
                e.g. ``dict(type='kmeans')``, or a built method.
        """
        if not self.use_ctm:
            raise ValueError('TCFormer built with use_ctm=False has no CTM whose clustering '
                             'could be set.')
        for stage in self.stages[1:]:
            stage.downsample.set_clustering(copy.deepcopy(clustering))

    # ---------------------------------------------------------------------- init / freezing
    def init_weights(self):
        """Initialize as the released model, or load a (released) checkpoint.

        ``init_cfg=dict(type='Pretrained', checkpoint=PATH[, prefix=...])`` reads the original
        classification checkpoints, mmpose 0.x checkpoints and checkpoints of this module,
        converting keys with :func:`tcformer_convert`; a checkpoint that does not fit the
        architecture raises an error listing the mismatching keys.
        """
        if self.init_cfg is not None and not isinstance(self.init_cfg, dict):
            super().init_weights()
            return
        if self.init_cfg is None or self.init_cfg.get('type') != 'Pretrained':
            released_init(self)
            if self.init_cfg is not None:
                super().init_weights()
            return
        if 'checkpoint' not in self.init_cfg:
            raise ValueError(f'{self.__class__.__name__}: init_cfg of type Pretrained needs a '
                             f'`checkpoint`, got {self.init_cfg}.')
        logger = MMLogger.get_current_instance()
        filename = str(self.init_cfg['checkpoint'])
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu', logger=logger)
        state_dict = tcformer_convert(checkpoint, prefix=self.init_cfg.get('prefix'))
        load_converted_state_dict(self, state_dict, source=filename)
        logger.info(f'{self.__class__.__name__}: loaded pre-trained weights from {filename}')
        self._is_init = True

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints with the released flat names (and this package's older ones) load into
        # the stages: the keys are renamed in place, before the stages read theirs.
        rename_to_stages_(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _stage_modules(self, i: int) -> List[nn.Module]:
        """Modules of stage i (0-based); stage 0 without the patch embedding."""
        stage = self.stages[i]
        modules = [stage.blocks, stage.norm]
        return modules if i == 0 else [stage.downsample] + modules

    def _frozen_modules(self) -> List[nn.Module]:
        # The stages' children, not the stages: a stage's own mode is the backbone's, which
        # decides its gradient checkpointing.
        if self.frozen_stages < 0:
            return []
        modules = [self.stages[0].downsample]
        for i in range(min(self.frozen_stages, self.num_stages)):
            modules += self._stage_modules(i)
        return modules

    def _freeze_stages(self):
        for m in self._frozen_modules():
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        """Set the train mode, keeping the frozen stages in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self

    # ------------------------------------------------------------------------------ forward
    @staticmethod
    def _check_compile(compile) -> Optional[dict]:
        """``torch.compile`` arguments from the ``compile`` argument; None for no compiling."""
        if compile is False or compile is None:
            return None
        if compile is True:
            return {}
        if not isinstance(compile, dict):
            raise TypeError(f'TCFormer: compile must be a bool or a dict of torch.compile '
                            f'arguments, got {compile!r}.')
        fixed = {'fullgraph', 'dynamic'} & set(compile)
        if fixed:
            raise ValueError(f'TCFormer: compile always uses fullgraph=True, dynamic=False; '
                             f'remove {sorted(fixed)} from {compile!r}.')
        return dict(compile)

    def forward(self, x: torch.Tensor) -> Tuple[Union[TokenSet, torch.Tensor], ...]:
        """Forward.

        Args:
            x (Tensor): Images, shape (B, C_in, H, W); any H, W >= :attr:`min_input_size`.

        Returns:
            tuple: One entry per ``out_indices``: a :class:`TokenSet` (``x`` of shape
            (B, N_i, C_i), normalised by ``stages[i].norm``; ``score`` None) or, with
            ``output_format='maps'``, a Tensor (B, C_i, H_i, W_i) where H_0 = (H - 1) // 4 + 1
            and H_{i+1} = (H_i - 1) // 2 + 1.
        """
        self._check_input(x)
        h, w = x.shape[-2:]
        problem = self._size_problem(h, w)
        if problem is not None:
            raise ValueError(f'TCFormer ({self.arch_name}): input size {h}x{w} is too small: '
                             f'{problem}. The smallest input this model takes is '
                             f'{self.min_input_size}x{self.min_input_size}.')
        if not torch.compiler.is_compiling():
            self._check_memory(x)
        if self.compile_cfg is not None:
            return _compiled_forward(**self.compile_cfg)(self, x)
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> Tuple[Union[TokenSet, torch.Tensor], ...]:
        """:meth:`forward` after the input checks."""
        outs = []
        pairs = None  # grid tokens need none
        for i, stage in enumerate(self.stages):
            x, pairs = stage(x, pairs)
            if i in self.out_indices:
                outs.append(token2map(x, pairs=pairs) if self.output_format == 'maps' else x)
        return tuple(outs)

    def _check_input(self, x) -> None:
        """Shape and dtype of the images, checked on the host (no device synchronisation)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f'TCFormer: expected an image tensor (B, C, H, W), got '
                            f'{type(x).__name__}.')
        if x.dim() != 4:
            raise ValueError(f'TCFormer: expected images of shape (B, C, H, W), got shape '
                             f'{tuple(x.shape)}; add the batch dimension with x[None].')
        if x.shape[0] == 0:
            raise ValueError('TCFormer: the batch is empty (shape '
                             f'{tuple(x.shape)}).')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'TCFormer: in_channels is {self.in_channels}, but the images '
                             f'have {x.shape[1]} channels (shape {tuple(x.shape)}).')
        weight = self.stages[0].downsample.proj.weight
        if not x.is_floating_point():
            raise TypeError(f'TCFormer: images must be floating point (normalised by the data '
                            f'preprocessor), got {x.dtype}.')
        if x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type):
            raise TypeError(f'TCFormer: images are {x.dtype} but the weights are '
                            f'{weight.dtype}; convert them (x.to({weight.dtype})) or run '
                            'under autocast.')

    def _check_memory(self, x: torch.Tensor) -> None:
        """Refuse an input whose activations cannot fit, before allocating them: a lower bound
        of the forward's peak memory from the shapes (``memory_check.py``) against the memory
        the device has left. No device synchronisation."""
        available = available_memory(x.device)
        if available is None:
            return
        kind = x.device.type
        autocast = torch.is_autocast_enabled(kind)
        element_size = torch.get_autocast_dtype(kind).itemsize if autocast else x.element_size()
        # A stage keeps its activations for the backward pass when gradients flow through it
        # (from the images or its own parameters) and its blocks are not checkpointed.
        records = torch.is_grad_enabled() and not (self.with_cp and self.training)
        flows = x.requires_grad
        keeps_graph = []
        for stage in self.stages:
            flows = flows or any(p.requires_grad for p in stage.blocks.parameters())
            keeps_graph.append(records and flows)
        max_block_bytes = (self.stages[1].downsample.clustering.max_block_bytes
                           if self.use_ctm else DEFAULT_BLOCK_BYTES)
        check_memory(
            f'TCFormer ({self.arch_name})',
            self.arch_settings,
            tuple(x.shape),
            available,
            x.device,
            image_bytes=x.element_size(),
            element_size=element_size,
            out_indices=self.out_indices,
            use_ctm=self.use_ctm,
            keeps_graph=keeps_graph,
            # SDPA's fused kernels never hold the score matrix; the CPU's math path,
            # taken for attention dropout, does.
            materialised_scores=(self.training and self.attn_drop_rate > 0 and kind != 'cuda'),
            max_block_bytes=max_block_bytes)


#: ``repr`` of the compile arguments -> compiled ``TCFormer._forward``.
_COMPILED_FORWARDS: Dict[str, Callable] = {}


def _compiled_forward(**compile_kwargs) -> Callable:
    """``TCFormer._forward`` compiled as one graph, shared by all instances (the function is
    compiled unbound: a deep copy of a model, e.g. an EMA model, compiles its own graph instead
    of calling into the original's)."""
    key = repr(sorted(compile_kwargs.items()))
    if key not in _COMPILED_FORWARDS:
        _COMPILED_FORWARDS[key] = torch.compile(TCFormer._forward,
                                                fullgraph=True,
                                                dynamic=False,
                                                **compile_kwargs)
    return _COMPILED_FORWARDS[key]
