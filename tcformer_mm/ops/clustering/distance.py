"""Blocked pairwise distances: the clustering never holds an N x N matrix when N is large.

Distances follow the released DPC-kNN: d_ij = ||x_i - x_j||_2 / sqrt(C). They are computed as
squared distances, |x_i|^2 + |x_j|^2 - 2 x_i . x_j of features pre-scaled by 1 / sqrt(C), a
matrix product per block of rows.
"""
import torch
from torch import Tensor

#: Default size of one block of the distance matrix (fp32 bytes): about 256 MB.
DEFAULT_BLOCK_BYTES = 256 * 2**20


def rows_per_block(batch: int, num_cols: int, max_block_bytes: int) -> int:
    """Rows of a (batch, rows, num_cols) fp32 block that fit in ``max_block_bytes`` (>= 1)."""
    return max(1, int(max_block_bytes) // (4 * batch * max(num_cols, 1)))


def sq_dist_block(a: Tensor, b: Tensor, sq_a: Tensor, sq_b: Tensor) -> Tensor:
    """Squared distances between two sets of fp32 features.

    Callers pre-scale the features by 1 / sqrt(C), which gives the released d^2 / C without
    a pass over the block.

    Args:
        a (Tensor): Shape (B, R, C).
        b (Tensor): Shape (B, M, C).
        sq_a (Tensor): |a|^2, shape (B, R).
        sq_b (Tensor): |b|^2, shape (B, M).

    Returns:
        Tensor: ||a_r - b_m||^2, shape (B, R, M), clamped at 0 against rounding.
    """
    # Autocast would run the product in bf16 / fp16: far too coarse to rank distances.
    with torch.autocast(a.device.type, enabled=False):
        d2 = torch.baddbmm(sq_b.unsqueeze(1), a, b.transpose(1, 2), alpha=-2)
    return d2.add_(sq_a.unsqueeze(2)).clamp_(min=0)


@torch.no_grad()
def nearest_centre(x: Tensor, centres: Tensor, max_block_bytes: int = DEFAULT_BLOCK_BYTES
                   ) -> Tensor:
    """Index of the nearest centre of every token (ties: the lowest centre index).

    Args:
        x (Tensor): Token features, shape (B, N, C).
        centres (Tensor): Centre features, shape (B, M, C).
        max_block_bytes (int): Memory bound of one block of the (N, M) distance matrix.

    Returns:
        Tensor: Long, shape (B, N), values in [0, M).
    """
    # Unscaled: the 1 / sqrt(C) of the released distance does not change the nearest centre.
    x = x.float()
    centres = centres.float()
    B, N, _ = x.shape
    sq_x = (x * x).sum(-1)
    sq_c = (centres * centres).sum(-1)
    rows = rows_per_block(B, centres.shape[1], max_block_bytes)
    out = torch.empty(B, N, dtype=torch.long, device=x.device)
    for r0 in range(0, N, rows):
        r1 = min(N, r0 + rows)
        d2 = sq_dist_block(x[:, r0:r1], centres, sq_x[:, r0:r1], sq_c)
        out[:, r0:r1] = d2.argmin(dim=-1)
    return out
