"""Refuse an input whose activations cannot fit, before the forward allocates them.

:func:`estimate_memory` computes, from the shapes alone, a lower bound of the memory a TCFormer
forward needs at its peak; :func:`check_memory` compares it with what the device has left and
raises a one-line ``ValueError`` instead of the allocator's error (or the kernel's OOM killer)
half-way through the forward. Nothing here reads a tensor's values: the check runs before the
(possibly compiled) forward and never waits for the device.

The bound, per stage i (B images, N_i tokens of C_i channels, e bytes per activation)::

    need_i = held + (3 N_i + N_{i-1}) B C_i e           (features of the stage's first block)
             + max(MLP, attention scores)               (the stage's largest transient)

    held       = the images, the outputs of the earlier stages in out_indices and, when
                 training, the MLP activations the earlier stages keep for the backward pass
    features   = the block's input, its features after the attention and their norm (3 N_i);
                 the pre-merge key/value tokens of a dynamic-token stage (N_{i-1}, else 0)
    MLP        = B * hidden_i * e * (2 N_i on the grid: the depth-wise conv's input and output;
                 N_i + 2 H_i W_i on dynamic tokens: the tokens, their map and the conv's output
                 map), hidden_i = C_i * mlp_ratio_i; or B * hidden_i * e * 3 * depth_i * N_i
                 when the stage records the autograd graph (every block keeps its fc1, conv
                 and GELU outputs for the backward pass)
    scores     = 2 * B * heads_i * N_i * M_i * e, only where they are materialised (see below);
                 M_i = key/value tokens (the map reduced by sr_i x sr_i, else the tokens)

and, for the CTM that starts stage i + 1, on top of what is held by then (N = N_i)::

    clustering = B * N * C_{i+1} * 4 + B * R * N * 4   (an fp32 copy of the features and one
                 block of R rows of the distance matrix, R as ``distance.block_rows`` sizes it)

The estimate is the largest of these needs. Token counts: N_1 = H_1 W_1 (the stride-4 grid), then
N_{i+1} = N_i // 4 (the CTMs keep a quarter) or the map size without CTM.

What is *not* quadratic: the DPC-kNN clustering works in row blocks bounded by
``max_block_bytes`` on every device and in both formulations, so its memory grows linearly
with the tokens (its time grows quadratically for global clustering). The attention runs in
``F.scaled_dot_product_attention``, whose fused kernels (flash on CPU, flash / memory-efficient
on CUDA) never hold the (N x M) score matrix; only the math path does, which the CPU takes for
attention dropout in training (``attn_drop_rate > 0``). There the scores are quadratic in the
tokens and dominate large inputs.

Every term is memory the forward certainly holds at once; the true peak is higher (peak resident
memory on CPU, measured: 1.5x the estimate for V1-Light inference at 1024x1024, 1.8-1.9x for a
V1-Light / V2-Small training forward at 512x512; uncounted are e.g. the normalised key/value
tokens, the token maps of the attention's reduction, the token bookkeeping). :func:`check_memory`
refuses an input when 1.5x the estimate (:data:`PEAK_OVER_BOUND`, the smallest measured ratio)
exceeds the memory available. ``TCFORMER_MEMORY_CHECK=0`` turns the check off.
"""
import math
import os
from typing import NamedTuple, Optional, Sequence, Tuple

import torch

from tcformer_mm.ops.clustering.distance import DEFAULT_BLOCK_BYTES, block_rows

#: Environment variable: ``0`` turns the check off.
ENV_VAR = 'TCFORMER_MEMORY_CHECK'
#: The smallest measured ratio of the true peak to :func:`estimate_memory`'s bound (1.5 for
#: inference, 1.8-1.9 for a training forward): the check compares the bound times this with
#: the memory available, which still never exceeds a measured peak.
PEAK_OVER_BOUND = 1.5


class Estimate(NamedTuple):
    """The peak need of a forward in bytes: what is held at that point (images, features,
    kept outputs and activations) and the largest transient on top of it (bytes, what)."""
    bytes: int
    held: int
    part: int
    what: str


def _fmt(num_bytes: float) -> str:
    for unit, scale in (('TiB', 2**40), ('GiB', 2**30), ('MiB', 2**20)):
        if num_bytes >= scale or unit == 'MiB':
            return f'{num_bytes / scale:.1f} {unit}'


def _stage_sizes(height: int, width: int, use_ctm: bool) -> Tuple[list, list]:
    """Map size (H_i, W_i) and token count N_i of every stage for an (height, width) input."""
    maps = [((height - 1) // 4 + 1, (width - 1) // 4 + 1)]
    for _ in range(3):
        maps.append(((maps[-1][0] - 1) // 2 + 1, (maps[-1][1] - 1) // 2 + 1))
    tokens = [maps[0][0] * maps[0][1]]
    for h, w in maps[1:]:
        tokens.append(max(1, tokens[-1] // 4) if use_ctm else h * w)
    return maps, tokens


def _mlp_need(settings: dict, i: int, batch: int, n: int, map_size: Tuple[int, int], e: int,
              dynamic: bool, keeps_graph: bool) -> Tuple[int, str]:
    """Bytes and description of the MLP activations of stage i (``MLP`` in the formula)."""
    h, w = map_size
    hidden = int(settings['embed_dims'][i] * settings['mlp_ratios'][i])
    depth = settings['depths'][i]
    if keeps_graph:
        mlp = 3 * depth * batch * n * hidden * e
        what = f'{n} tokens x {hidden} channels x {3 * depth} copies kept for backward'
    elif dynamic:
        # The token conv renders the tokens to a map and convolves it.
        mlp = batch * (n + 2 * h * w) * hidden * e
        what = f'{n} tokens x {hidden} channels and 2 maps of {h}x{w}'
    else:
        mlp = 2 * batch * n * hidden * e
        what = f'{n} tokens x {hidden} channels x 2 copies'
    return mlp, f'the stage-{i + 1} MLP activations, {what} per image'


def _scores_need(settings: dict, i: int, batch: int, n: int, map_size: Tuple[int, int], e: int,
                 unreduced_keys: int) -> Tuple[int, str]:
    """Bytes and description of the attention scores of stage i, where they are materialised.

    Keys: the query's map reduced by sr x sr; without reduction ``unreduced_keys`` (the tokens
    themselves, or the pre-merge tokens the first block of a dynamic-token stage attends to).
    """
    h, w = map_size
    sr, heads = settings['sr_ratios'][i], settings['num_heads'][i]
    keys = (h // sr) * (w // sr) if sr > 1 else unreduced_keys
    return (2 * batch * heads * n * keys * e,
            f'the stage-{i + 1} attention scores, {n} x {keys} x {heads} '
            f'head{"s" if heads > 1 else ""} x 2 copies per image')


def _clustering_need(settings: dict, i: int, batch: int, n: int, max_block_bytes: int,
                     device: torch.device) -> Tuple[int, str]:
    """Bytes and description of the clustering of the CTM after stage i (``clustering``)."""
    p = settings['num_parts'][i]
    per_part = math.ceil(n / p)
    rows = min(per_part, block_rows(batch * p, per_part, max_block_bytes, device))
    num_bytes = batch * n * settings['embed_dims'][i + 1] * 4 + batch * p * rows * per_part * 4
    return num_bytes, (f'the ctm{i + 1} clustering of {n} tokens'
                       f'{"" if p == 1 else f" in {p} parts"}')


def estimate_memory(settings: dict,
                    batch: int,
                    height: int,
                    width: int,
                    *,
                    image_bytes: int = 4,
                    element_size: int = 4,
                    out_indices: Sequence[int] = (0, 1, 2, 3),
                    use_ctm: bool = True,
                    keeps_graph: Sequence[bool] = (False, ) * 4,
                    materialised_scores: bool = False,
                    max_block_bytes: int = DEFAULT_BLOCK_BYTES,
                    device: torch.device = torch.device('cpu'),
                    in_channels: int = 3) -> Estimate:
    """Lower bound of the peak memory of a TCFormer forward (formula in the module docstring).

    Args:
        settings (dict): Arch settings (``TCFormer.arch_zoo`` entry): ``embed_dims``,
            ``num_heads``, ``mlp_ratios``, ``sr_ratios``, ``depths``, ``num_parts``.
        batch, height, width (int): Input shape.
        image_bytes (int): Bytes per element of the images. Defaults to 4.
        element_size (int): Bytes per activation (2 under bf16 / fp16 autocast). Defaults to 4.
        out_indices (Sequence[int]): Stages whose outputs are kept until the end.
        use_ctm (bool): False: stages 2-4 on the strided grid, no clustering.
        keeps_graph (Sequence[bool]): Per stage, whether its blocks record the autograd graph.
        materialised_scores (bool): Whether the attention holds its score matrices.
        max_block_bytes (int): Memory bound of the clustering's distance blocks.
        device (torch.device): Device of the clustering's blocks (their size depends on it).
        in_channels (int): Image channels. Defaults to 3.

    Returns:
        Estimate: Bytes and a description of the largest transient.
    """
    e = element_size
    maps, tokens = _stage_sizes(height, width, use_ctm)
    # Held through the forward: the images, the outputs so far, the activations the autograd
    # graph keeps for the backward pass.
    kept = batch * in_channels * height * width * image_bytes
    best = Estimate(0, 0, 0, '')
    for i, (map_size, n, c) in enumerate(zip(maps, tokens, settings['embed_dims'])):
        dynamic = use_ctm and i > 0
        # A block's input (held by the caller), its features after the attention and their
        # norm; in the first block of a dynamic-token stage the pre-merge key/value tokens too.
        resident = kept + batch * (3 * n + (tokens[i - 1] if dynamic else 0)) * c * e
        mlp = _mlp_need(settings, i, batch, n, map_size, e, dynamic, keeps_graph[i])
        items = [mlp]
        if materialised_scores:
            unreduced_keys = tokens[i - 1] if dynamic else n
            items.append(_scores_need(settings, i, batch, n, map_size, e, unreduced_keys))
        num_bytes, what = max(items)
        best = max(best, Estimate(resident + num_bytes, resident, num_bytes, what))
        if i in out_indices:
            kept += batch * n * c * e
        if keeps_graph[i]:
            kept += mlp[0]
        if use_ctm and i < 3:
            # The CTM after the stage, on top of what is kept by then.
            num_bytes, what = _clustering_need(settings, i, batch, n, max_block_bytes, device)
            best = max(best, Estimate(kept + num_bytes, kept, num_bytes, what))
    return best


def available_memory(device: torch.device) -> Optional[int]:
    """Bytes the device can still give, or None where unknown or where the environment
    variable ``TCFORMER_MEMORY_CHECK=0`` turns the check off (for hosts whose free memory the
    kernel under-reports, e.g. a ZFS cache outside ``MemAvailable``).

    CPU: ``MemAvailable`` plus ``SwapFree`` of ``/proc/meminfo`` (what can be allocated without
    the OOM killer), capped by the cgroup's limit minus its usage. CUDA: the free device memory
    (``torch.cuda.mem_get_info``, a host query) plus what PyTorch's caching allocator holds
    unused.
    """
    if os.environ.get(ENV_VAR, '1') == '0':
        return None
    if device.type == 'cuda':
        free, _ = torch.cuda.mem_get_info(device)
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    if device.type != 'cpu':
        return None
    try:
        with open('/proc/meminfo') as f:
            info = {line.split(':')[0]: int(line.split()[1]) * 1024 for line in f}
        available = info['MemAvailable'] + info.get('SwapFree', 0)
    except (OSError, KeyError, ValueError, IndexError):
        return None
    for limit_file, usage_file in (('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'),
                                   ('/sys/fs/cgroup/memory/memory.limit_in_bytes',
                                    '/sys/fs/cgroup/memory/memory.usage_in_bytes')):
        try:
            with open(limit_file) as f, open(usage_file) as g:
                limit, usage = f.read().strip(), g.read().strip()
        except OSError:
            continue
        if limit.isdigit() and usage.isdigit():
            available = min(available, max(0, int(limit) - int(usage)))
        break
    return available


def check_memory(name: str,
                 settings: dict,
                 shape: Tuple[int, int, int, int],
                 available: Optional[int],
                 device: torch.device = torch.device('cpu'),
                 **kwargs) -> None:
    """Raise a ValueError if the forward of a ``shape`` (B, C, H, W) input surely needs more
    than ``available`` bytes (None: not known, no check).

    Args:
        name (str): The model, for the message (e.g. ``'TCFormer (v1-light)'``).
        settings (dict): Arch settings, see :func:`estimate_memory`.
        shape (tuple): Shape of the images.
        available (int, optional): Bytes available (:func:`available_memory`).
        device (torch.device): Device of the images. Defaults to the CPU.
        **kwargs: Passed to :func:`estimate_memory`.
    """
    if available is None:
        return
    b, c, h, w = shape

    def estimate(height, width):
        bound = estimate_memory(settings, b, height, width, in_channels=c, device=device, **kwargs)
        return bound._replace(bytes=int(bound.bytes * PEAK_OVER_BOUND))

    need = estimate(h, w)
    if need.bytes <= available:
        return
    # The largest input of the same aspect ratio that passes (the estimate grows with the size).
    low, high = 0., 1.
    for _ in range(30):
        mid = (low + high) / 2
        if estimate(max(1, int(h * mid)), max(1, int(w * mid))).bytes <= available:
            low = mid
        else:
            high = mid
    fits = (f'at most about {int(h * low)}x{int(w * low)} fits'
            if low > 0 else 'not even a tiny one fits')
    raise ValueError(
        f'{name}: an input of {h}x{w} (batch {b}) needs about '
        f'{_fmt(need.bytes)} at its peak (at least {_fmt(need.part)} for {need.what}, on top '
        f'of {_fmt(need.held)} of images, features and kept activations), more than '
        f'the {_fmt(available)} available on {device}; use a smaller input or batch '
        f'({fits}; {ENV_VAR}=0 skips this check)')
