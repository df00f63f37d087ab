"""Bipartite Soft Matching (ToMe, Bolya et al., ICLR 2023) as a CTM clustering (Table IX)."""
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import ClusteringMethod, check_positive_int, register_clustering
from .distance import rows_per_block
from .partition import Partition


def _best_match(a: Tensor, b: Tensor, valid_b: Tensor, max_block_bytes: int):
    """Most cosine-similar valid B token of every A token (ties: lowest index).

    Args:
        a (Tensor): Unit-norm features, shape (B, nA, C).
        b (Tensor): Unit-norm features, shape (B, nB, C), nB >= 1.
        valid_b (Tensor): Bool, shape (B, nB).
        max_block_bytes (int): Memory bound of one block of the (nA, nB) similarity matrix.

    Returns:
        tuple[Tensor, Tensor]: similarity (B, nA) and index into B (B, nA).
    """
    B, nA, _ = a.shape
    rows = rows_per_block(B, b.shape[1], max_block_bytes)
    best = a.new_empty(B, nA)
    index = torch.empty(B, nA, dtype=torch.long, device=a.device)
    for r0 in range(0, nA, rows):
        r1 = min(nA, r0 + rows)
        with torch.autocast(a.device.type, enabled=False):  # keep the similarities fp32
            sim = torch.bmm(a[:, r0:r1], b.transpose(1, 2))
        sim.masked_fill_(~valid_b.unsqueeze(1), float('-inf'))
        index[:, r0:r1] = sim.argmax(dim=-1)
        best[:, r0:r1] = torch.gather(sim, 2, index[:, r0:r1].unsqueeze(-1)).squeeze(-1)
    return best, index


@register_clustering('bsm')
class BipartiteSoftMatching(ClusteringMethod):
    """Token clustering by ``num_steps`` steps of Bipartite Soft Matching.

    Every step splits the current tokens of a part alternately (even positions: set A, odd:
    set B), matches each A token to its most cosine-similar B token, and merges the r best
    matched pairs (several A tokens may join the same B token). Merged features are
    size-weighted means, as in ToMe. The step sizes follow a geometric schedule from the
    part's Np real tokens to M in ``num_steps`` steps, r_t = n_{t-1} - round(Np (M/Np)^(t/T)),
    so every part ends with exactly M tokens. One step can at most halve a part (r <= |A|);
    should 5 steps not suffice (Np > 32 M, never the case with ratio 0.25), extra steps run
    until M is reached. The assignments of the steps compose into one cluster id per original
    token; cluster ids are the final tokens' positions, which keep the spatial (token) order.

    Args:
        num_steps (int): BSM steps per CTM. Default: 5.
        **kwargs: ``ratio`` and ``max_block_bytes`` of :class:`ClusteringMethod`.
    """

    def __init__(self, num_steps: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.num_steps = check_positive_int('bsm', 'num_steps', num_steps)

    def _step(self, feat: Tensor, size: Tensor, count: Tensor, r: Tensor):
        """One BSM step on every part: merge r[p] A tokens of part p into B tokens.

        Args:
            feat (Tensor): Current token features, shape (BP, n, C); real tokens first.
            size (Tensor): Original tokens per current token, shape (BP, n).
            count (Tensor): Real tokens per part, shape (BP,).
            r (Tensor): Merges per part, shape (BP,), r <= ceil(count / 2).

        Returns:
            tuple: new feat, new size, new count, and the map old position -> new position
            (BP, n).
        """
        BP, n, C = feat.shape
        device = feat.device
        pos = torch.arange(n, device=device)
        valid = pos.unsqueeze(0) < count.unsqueeze(1)  # (BP, n)
        valid_a, valid_b = valid[:, 0::2], valid[:, 1::2]
        unit = F.normalize(feat, dim=-1)
        best, match = _best_match(unit[:, 0::2], unit[:, 1::2], valid_b, self.max_block_bytes)
        best.masked_fill_(~valid_a, float('-inf'))

        # Merge the r most similar pairs of each part (ties: lowest position).
        order = torch.sort(best, dim=1, descending=True, stable=True).indices
        rank = torch.empty_like(order).scatter_(
            1, order,
            torch.arange(order.shape[1], device=device).unsqueeze(0).expand_as(order).contiguous())
        merged = (rank < r.unsqueeze(1)) & valid_a

        survivor = valid.clone()
        survivor[:, 0::2] &= ~merged
        new_pos = torch.cumsum(survivor.long(), dim=1) - 1
        mapping = new_pos.clone()
        mapping[:, 0::2] = torch.where(merged, torch.gather(new_pos, 1, 2 * match + 1),
                                       new_pos[:, 0::2])
        mapping = torch.where(valid, mapping, torch.zeros_like(mapping))

        new_count = count - r
        n_new = int(new_count.max())
        index = (mapping + torch.arange(BP, device=device).unsqueeze(1) * n_new).reshape(-1)
        weight = (size * valid).reshape(-1)
        new_size = size.new_zeros(BP * n_new).index_add_(0, index, weight)
        new_feat = feat.new_zeros(BP * n_new,
                                  C).index_add_(0, index,
                                                feat.reshape(-1, C) * weight.unsqueeze(1))
        new_feat = new_feat / new_size.clamp(min=1).unsqueeze(1)
        return (new_feat.reshape(BP, n_new, C), new_size.reshape(BP, n_new), new_count, mapping)

    def cluster_parts(self, tokens, parts: Partition) -> Tensor:
        feat = parts.x.float()
        M = parts.num_clusters
        count = parts.valid.sum(dim=1)  # real tokens sit first in every part
        size = parts.valid.float()
        assign = torch.arange(feat.shape[1],
                              device=feat.device).unsqueeze(0).repeat(feat.shape[0], 1)
        start = count.double()
        step = 0
        while bool((count > M).any()):
            step += 1
            target = self.target(start, M, step)
            r = torch.minimum((count - target).clamp(min=0), (count + 1) // 2)
            r = torch.where(count > 1, r, torch.zeros_like(r))
            if not bool((r > 0).any()):
                continue
            feat, size, count, mapping = self._step(feat, size, count, r)
            assign = torch.gather(mapping, 1, assign)
        return assign

    def target(self, start: Tensor, clusters: int, step: int) -> Tensor:
        """Tokens of every part after ``step`` steps (the geometric schedule), long.

        Args:
            start (Tensor): fp64, real tokens of every part before the first step.
            clusters (int): M.
            step (int): 1, 2, ...
        """
        if step >= self.num_steps:
            return torch.full_like(start, clusters, dtype=torch.long)
        target = torch.round(start * (clusters / start)**(step / self.num_steps)).long()
        return target.clamp(min=clusters)

    def flops(self, num_tokens: int, channels: int, num_parts: int, num_clusters: int) -> int:
        # The similarity of every step, |A| x |B| x C per part, counted twice as in TPAMI
        # Table IX's BSM row (6.0 GFLOPs).
        start = torch.tensor(num_tokens / num_parts, dtype=torch.float64)
        count, flops, step = num_tokens / num_parts, 0, 0
        while count > num_clusters:
            step += 1
            target = int(self.target(start, num_clusters, step))
            flops += math.ceil(count / 2) * math.floor(count / 2) * channels * num_parts
            count -= min(count - target, math.ceil(count / 2))
        return 2 * int(flops)
