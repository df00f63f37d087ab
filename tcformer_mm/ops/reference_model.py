"""The released TCFormer forward, as plain functions of a released-layout state dict.

A second implementation of the network, written for reading and for checking, not for speed:
every step is a line of the papers (CVPR 2022 Fig. 2-4, TPAMI 2024 Fig. 3), every token
operation comes from :mod:`tcformer_mm.ops.reference`, and every weight is read by its
released key (``patch_embed1.proj.weight``, ``ctm1.score.weight``, ``merge_blocks.0.attn.kv``
...). The modules of :mod:`tcformer_mm.models` are tested against it, and so is the loading of
released checkpoints: the same file must give the same outputs here and there.

Released settings that are not in the weights: LayerNorm eps 1e-6 in the backbone's blocks and
stage norms, PyTorch's default 1e-5 in the patch embedding, the attention's reduction norm, the
CTM and everywhere in the MTA neck; attention logits plus the importance score of the key
tokens (eq. 4), zero where a token set has no score.
"""
import itertools
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from . import reference
from .clustering.dpc_knn import DEFAULT_K
from .token_set import TokenSet

StateDict = Dict[str, Tensor]
BACKBONE_EPS = 1e-6
DEFAULT_EPS = 1e-5


def _linear(sd: StateDict, name: str, x: Tensor) -> Tensor:
    return F.linear(x, sd[f'{name}.weight'], sd.get(f'{name}.bias'))


def _norm(sd: StateDict, name: str, x: Tensor, eps: float) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], sd[f'{name}.weight'], sd[f'{name}.bias'], eps)


def _num_blocks(sd: StateDict, prefix: str) -> int:
    return next(j for j in itertools.count() if f'{prefix}.{j}.norm1.weight' not in sd)


def attention(sd: StateDict,
              name: str,
              query: Tensor,
              key_value: Tensor,
              num_heads: int,
              score: Optional[Tensor] = None) -> Tensor:
    """softmax(q k^T / sqrt(d) + s) v, then ``proj`` (eq. 4; plain attention without s).

    Args:
        query (Tensor): (B, N, C). key_value (Tensor): (B, M, C). score (Tensor): (B, M, 1).
    """
    B, N, C = query.shape
    d = C // num_heads
    q = _linear(sd, f'{name}.q', query).reshape(B, N, num_heads, d).transpose(1, 2)
    k, v = _linear(sd, f'{name}.kv', key_value).reshape(B, -1, 2, num_heads, d).unbind(2)
    logits = q @ k.permute(0, 2, 3, 1) / math.sqrt(d)  # (B, heads, N, M)
    if score is not None:
        logits = logits + score.transpose(1, 2).unsqueeze(1)
    out = logits.softmax(-1) @ v.transpose(1, 2)
    return _linear(sd, f'{name}.proj', out.transpose(1, 2).reshape(B, N, C))


def grid_block(sd: StateDict, name: str, x: Tensor, map_size, num_heads: int,
               sr_ratio: int) -> Tensor:
    """Stage-1 block (PVTv2): spatial-reduction attention, MLP with a 3x3 depth-wise conv."""
    B, _, C = x.shape
    h = _norm(sd, f'{name}.norm1', x, BACKBONE_EPS)
    kv = h
    if sr_ratio > 1:
        kv_map = h.transpose(1, 2).reshape(B, C, *map_size)
        kv_map = F.conv2d(kv_map,
                          sd[f'{name}.attn.sr.weight'],
                          sd[f'{name}.attn.sr.bias'],
                          stride=sr_ratio)
        kv = _norm(sd, f'{name}.attn.norm', kv_map.flatten(2).transpose(1, 2), DEFAULT_EPS)
    x = x + attention(sd, f'{name}.attn', h, kv, num_heads)
    h = _linear(sd, f'{name}.mlp.fc1', _norm(sd, f'{name}.norm2', x, BACKBONE_EPS))
    h_map = h.transpose(1, 2).reshape(B, -1, *map_size)
    h_map = F.conv2d(h_map,
                     sd[f'{name}.mlp.dwconv.dwconv.weight'],
                     sd[f'{name}.mlp.dwconv.dwconv.bias'],
                     padding=1,
                     groups=h.shape[-1])
    h = F.gelu(h_map.flatten(2).transpose(1, 2))
    return x + _linear(sd, f'{name}.mlp.fc2', h)


def token_conv(sd: StateDict, name: str, tokens: TokenSet, stride: int = 1) -> Tensor:
    """TokenConv: map2token(conv(token2map(tokens))) plus a 1x1 conv of the tokens (skip)."""
    weight, skip = sd[f'{name}.weight'], sd[f'{name}.skip.weight']
    groups = tokens.x.shape[-1] // weight.shape[1]
    out = F.conv2d(reference.token2map(tokens),
                   weight,
                   sd[f'{name}.bias'],
                   stride=stride,
                   padding=weight.shape[-1] // 2,
                   groups=groups)
    out = reference.map2token(out, tokens)
    return out + F.conv1d(tokens.x.transpose(1, 2), skip, groups=groups).transpose(1, 2)


def reduce_key_value(sd: StateDict,
                     name: str,
                     key_value: TokenSet,
                     map_size,
                     sr_ratio: int,
                     kv_reduction: Optional[str],
                     cr_target: Optional[TokenSet] = None):
    """The key/value tokens (and their score) of a dynamic-token attention (TPAMI Fig. 3b)."""
    x, score = key_value.x, key_value.score
    C = x.shape[-1]
    if kv_reduction is None or (kv_reduction != 'cr' and sr_ratio == 1):
        return x, score
    with_score = x if score is None else torch.cat([x, score.to(x.dtype)], dim=-1)
    if kv_reduction == 'cr':
        merged = reference.token2token(key_value.replace(x=with_score), cr_target)
        x, score = merged[..., :C], (None if score is None else merged[..., C:])
        if f'{name}.cr.proj.weight' in sd:
            x = F.gelu(_norm(sd, f'{name}.cr.norm', _linear(sd, f'{name}.cr.proj', x), DEFAULT_EPS))
        return x, score
    # The key/value tokens are drawn on the query's map and reduced sr x sr.
    both = reference.token2map(key_value.replace(x=with_score), map_size)
    if score is not None:
        score = F.avg_pool2d(both[:, C:], sr_ratio).flatten(2).transpose(1, 2)
    if kv_reduction == 'sr':
        x = F.conv2d(both[:, :C], sd[f'{name}.sr.weight'], sd[f'{name}.sr.bias'], stride=sr_ratio)
        x = _norm(sd, f'{name}.norm', x.flatten(2).transpose(1, 2), DEFAULT_EPS)
    else:
        x = F.avg_pool2d(both[:, :C], sr_ratio).flatten(2).transpose(1, 2)
    return x, score


def tc_block(sd: StateDict,
             name: str,
             query: TokenSet,
             key_value: Optional[TokenSet],
             num_heads: int,
             sr_ratio: int,
             kv_reduction: Optional[str] = 'sr',
             eps: float = BACKBONE_EPS,
             cr_target: Optional[TokenSet] = None) -> TokenSet:
    """Dynamic-token block (TPAMI Fig. 3a); ``key_value`` None: self-attention."""
    x = query.x
    q = query.replace(x=_norm(sd, f'{name}.norm1', x, eps))
    kv = q if key_value is None else key_value.replace(
        x=_norm(sd, f'{name}.norm1', key_value.x, eps))
    kv_x, score = reduce_key_value(sd, f'{name}.attn', kv, q.map_size, sr_ratio, kv_reduction,
                                   cr_target)
    x = x + attention(sd, f'{name}.attn', q.x, kv_x, num_heads, score)
    h = _linear(sd, f'{name}.mlp.fc1', _norm(sd, f'{name}.norm2', x, eps))
    h = F.gelu(token_conv(sd, f'{name}.mlp.dwconv', query.replace(x=h)))
    return query.replace(x=x + _linear(sd, f'{name}.mlp.fc2', h))


def ctm(sd: StateDict,
        name: str,
        tokens: TokenSet,
        num_parts: int = 1,
        k: int = DEFAULT_K,
        ratio: float = 0.25):
    """Clustering-based Token Merge (CVPR Fig. 3, TPAMI section 3.2.1).

    Returns:
        tuple[TokenSet, TokenSet]: the merged tokens, and the input tokens with their new
        features and importance score (the keys and values of the stage's first block).
    """
    x = _norm(sd, f'{name}.norm', token_conv(sd, f'{name}.conv', tokens, stride=2), DEFAULT_EPS)
    score = _linear(sd, f'{name}.score', x)
    source = tokens.replace(x=x, score=score)
    idx_cluster, num_clusters = reference.local_dpc_knn(source, num_parts, ratio, k)
    H, W = tokens.map_size
    merged = reference.merge_tokens(source, idx_cluster, num_clusters, score,
                                    ((H - 1) // 2 + 1, (W - 1) // 2 + 1))
    return merged, source


def backbone(sd: StateDict,
             img: Tensor,
             num_heads: Sequence[int] = (1, 2, 5, 8),
             sr_ratios: Sequence[int] = (8, 4, 2, 1),
             num_parts: Sequence[int] = (1, 1, 1),
             k: int = DEFAULT_K,
             ratio: float = 0.25) -> List[TokenSet]:
    """TCFormer backbone: the four stages' token sets (after the stage norms).

    Args:
        sd (dict): Backbone state dict in the released layout (no prefix); the depths are read
            from it.
        img (Tensor): (B, 3, H, W), in the dtype of ``sd``.
        num_heads, sr_ratios: Per stage. num_parts: Per CTM ((1, 1, 1): TCFormerV1;
            (16, 4, 1): TCFormerV2).
    """
    x = F.conv2d(img,
                 sd['patch_embed1.proj.weight'],
                 sd['patch_embed1.proj.bias'],
                 stride=4,
                 padding=3)
    map_size = tuple(x.shape[-2:])
    x = _norm(sd, 'patch_embed1.norm', x.flatten(2).transpose(1, 2), DEFAULT_EPS)
    for j in range(_num_blocks(sd, 'block1')):
        x = grid_block(sd, f'block1.{j}', x, map_size, num_heads[0], sr_ratios[0])
    tokens = TokenSet.from_grid(_norm(sd, 'norm1', x, BACKBONE_EPS), map_size)
    outs = [tokens]
    for i in range(1, 4):
        query, key_value = ctm(sd, f'ctm{i}', tokens, num_parts[i - 1], k, ratio)
        for j in range(_num_blocks(sd, f'block{i + 1}')):
            # Only the first block attends to the pre-merge tokens and their score (Fig. 4).
            query = tc_block(sd, f'block{i + 1}.{j}', query, key_value if j == 0 else None,
                             num_heads[i], sr_ratios[i])
        tokens = query.replace(x=_norm(sd, f'norm{i + 1}', query.x, BACKBONE_EPS))
        outs.append(tokens)
    return outs


def mta(sd: StateDict,
        levels: Sequence[TokenSet],
        num_heads: Sequence[int] = (4, 4, 4, 4),
        sr_ratios: Sequence[int] = (8, 4, 2, 1),
        kv_reduction: str = 'pool') -> List[Tensor]:
    """MTA neck (CVPR section 3.4; CR-MTA with ``kv_reduction='cr'``, TPAMI section 3.2.2).

    1x1 lateral convs, then top-down: level i += its upper level carried into level i's token
    distribution (``token2token``), and a merge block; every level drawn on its map.

    Args:
        sd (dict): Neck state dict (``lateral_convs.*``, ``merge_blocks.*``; no prefix).
        levels (Sequence[TokenSet]): Backbone token sets, one per lateral conv.

    Returns:
        list[Tensor]: (B, C_out, H_i, W_i) per level.
    """
    lateral = []
    for i, tokens in enumerate(levels):
        weight = sd[f'lateral_convs.{i}.conv.weight']
        x = F.linear(tokens.x, weight.flatten(1), sd[f'lateral_convs.{i}.conv.bias'])
        lateral.append(tokens.replace(x=x, score=None))
    for i in range(len(lateral) - 2, -1, -1):
        up = lateral[i].replace(x=lateral[i].x + reference.token2token(lateral[i + 1], lateral[i]))
        lateral[i] = tc_block(sd,
                              f'merge_blocks.{i}',
                              up,
                              None,
                              num_heads[i],
                              sr_ratios[i],
                              kv_reduction,
                              DEFAULT_EPS,
                              cr_target=lateral[-1])
    return [reference.token2map(tokens) for tokens in lateral]


def classifier(sd: StateDict, img: Tensor, **kwargs) -> Tensor:
    """Released ImageNet classifier: the mean of the last stage's tokens, then ``head``."""
    last = backbone(sd, img, **kwargs)[-1]
    return _linear(sd, 'head', last.x.mean(1))


def whole_body_heatmaps(sd: StateDict, img: Tensor, **kwargs) -> Tensor:
    """Released whole-body model (mmpose 0.x layout, keys ``backbone.``, ``neck.``,
    ``keypoint_head.``): TCFormer, MTA (avg-pool reduction), a 1x1 conv on the stride-4 map."""

    def sub(prefix):
        return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}

    backbone_sd = sub('backbone.')
    if 'patch_embed1.projection.weight' in backbone_sd:  # the mmpose 0.x port's name
        for suffix in ('weight', 'bias'):
            backbone_sd[f'patch_embed1.proj.{suffix}'] = backbone_sd.pop(
                f'patch_embed1.projection.{suffix}')
    maps = mta(sub('neck.'), backbone(backbone_sd, img, **kwargs))
    head = sub('keypoint_head.final_layer.')
    return F.conv2d(maps[0], head['weight'], head['bias'])
