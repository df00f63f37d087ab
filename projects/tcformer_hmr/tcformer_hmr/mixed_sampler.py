"""Sampling of mixed training datasets with fixed ratios (SPIN's MixedDataset)."""
from typing import Iterator, Optional, Sequence

import torch
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from mmpose.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class MixedRatioSampler(Sampler):
    """Draw each index of an mmengine ``ConcatDataset`` from its part ``i`` with probability
    ``ratios[i]``, uniformly within the part (as SPIN mixes Human3.6M, the in-the-wild sets
    and MPI-INF-3DHP: whatever their sizes, a batch has the same expected mix).

    An epoch has ``num_samples`` indices per process (default: the dataset length divided by
    the world size); each process and epoch draws from its own seeded generator.

    Args:
        dataset (ConcatDataset): The mixed datasets.
        ratios (Sequence[float]): One weight per dataset (normalised to sum to 1).
        num_samples (int, optional): Indices per epoch and process.
        seed (int, optional): Random seed, synchronised across processes when None.
    """

    def __init__(self,
                 dataset: ConcatDataset,
                 ratios: Sequence[float],
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None):
        if not isinstance(dataset, ConcatDataset):
            raise TypeError(f'MixedRatioSampler takes a ConcatDataset, got '
                            f'{type(dataset).__name__}.')
        if len(ratios) != len(dataset.datasets) or min(ratios) < 0 or sum(ratios) <= 0:
            raise ValueError(f'ratios must give one non-negative weight per dataset '
                             f'({len(dataset.datasets)}), got {list(ratios)}.')
        self.rank, self.world_size = get_dist_info()
        self.sizes = [len(d) for d in dataset.datasets]
        self.offsets = [0] + list(torch.tensor(self.sizes).cumsum(0)[:-1].tolist())
        self.ratios = torch.tensor(ratios, dtype=torch.float64) / sum(ratios)
        self.num_samples = num_samples or -(-len(dataset) // self.world_size)
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch * self.world_size + self.rank)
        parts = torch.multinomial(self.ratios, self.num_samples, replacement=True, generator=g)
        u = torch.rand(self.num_samples, generator=g, dtype=torch.float64)
        for part, r in zip(parts.tolist(), u.tolist()):
            yield self.offsets[part] + int(r * self.sizes[part])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
