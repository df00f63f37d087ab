"""Fidelity checks: tcformer_mm's modules against the released computation
(:mod:`tcformer_mm.ops.reference_model`), under weights like trained ones.

Freshly initialised weights hide differences: their importance scores are almost equal, so
every eq. 3 weight is uniform and a transform that wrongly uses the aggregation weights gives
the same result. :func:`trained_like_` perturbs a model so that the scores vary and the norms
are away from identity; :func:`compare_stages` measures how far two sets of stage outputs are.
"""
import math
from typing import List, NamedTuple, Sequence

import torch
import torch.nn as nn

from tcformer_mm.ops import TokenSet


@torch.no_grad()
def trained_like_(model: nn.Module, seed: int = 0, score_std: float = 1.5) -> nn.Module:
    """Perturb ``model`` in place to look trained.

    - LayerNorms: weight 1 + N(0, 0.3), bias N(0, 0.2).
    - Importance-score layers (every ``score`` Linear of a CTM): redrawn so that the scores of
      normalised features have a standard deviation of about ``score_std``; with 1.5, exp(score)
      spans more than an order of magnitude within a cluster.
    - Every other weight keeps its value (any non-trivial initialisation).

    Returns:
        nn.Module: ``model``.
    """
    g = torch.Generator().manual_seed(seed)

    def noise(p, std):
        return torch.randn(p.shape, generator=g, dtype=torch.float64).to(p) * std

    for name, m in model.named_modules():
        if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            m.weight.copy_(1 + noise(m.weight, 0.3))
            m.bias.copy_(noise(m.bias, 0.2))
        elif isinstance(m, nn.Linear) and name.split('.')[-1] == 'score':
            m.weight.copy_(noise(m.weight, score_std / math.sqrt(m.in_features)))
            m.bias.copy_(noise(m.bias, 0.5))
    return model


class StageDifference(NamedTuple):
    """How far a stage's token features are from the reference's.

    Attributes:
        stage (int): 1-4.
        num_tokens (int): Tokens per image.
        share_off (float): Share of tokens (of all images) whose features differ by more than
            the tolerance in some channel.
        worst (float): Largest absolute difference.
        share_reassigned (float): Share of initial grid cells whose token differs.
    """
    stage: int
    num_tokens: int
    share_off: float
    worst: float
    share_reassigned: float


def compare_stages(ours: Sequence[TokenSet],
                   reference: Sequence[TokenSet],
                   tol: float = 1e-3) -> List[StageDifference]:
    """Per stage: token features and cell assignments of ``ours`` against ``reference``."""
    result = []
    for i, (a, b) in enumerate(zip(ours, reference)):
        if a.x.shape != b.x.shape:
            raise ValueError(f'stage {i + 1}: {tuple(a.x.shape)} tokens against '
                             f'{tuple(b.x.shape)} in the reference')
        diff = (a.x.double() - b.x.double()).abs()
        result.append(
            StageDifference(stage=i + 1,
                            num_tokens=a.x.shape[1],
                            share_off=(diff.amax(-1) > tol).double().mean().item(),
                            worst=diff.max().item(),
                            share_reassigned=(a.idx_token != b.idx_token).double().mean().item()))
    return result


def format_differences(rows: Sequence[StageDifference]) -> str:
    """A small text table of :func:`compare_stages`."""
    lines = ['stage  tokens  off>tol  worst |diff|  cells reassigned']
    for r in rows:
        lines.append(f'{r.stage:5d}  {r.num_tokens:6d}  {100 * r.share_off:6.2f}%  '
                     f'{r.worst:12.3e}  {100 * r.share_reassigned:15.2f}%')
    return '\n'.join(lines)
