"""Blocked pairwise distances: the clustering never holds an N x N matrix when N is large.

Distances follow the released DPC-kNN: d_ij = ||x_i - x_j||_2 / sqrt(C). They are computed as
squared distances, |x_i|^2 + |x_j|^2 - 2 x_i . x_j of features pre-scaled by 1 / sqrt(C), a
matrix product per block of rows.

Speed (CPU): a block is first computed as the *partial* squared distance
``|b|^2 - 2 a.b`` (one batched product that adds ``-2 a.b`` to the row vector ``|b|^2``).
|a|^2 is constant along a row and x -> max(x + |a|^2, 0) is non-decreasing, so row-wise
minima, maxima and the k smallest values of the partial block are those of the full squared
distances: the callers rank on the partial block and add |a|^2 (and clamp) on the few values
they keep, which gives bit for bit the values a full ``|b|^2 - 2ab + |a|^2`` block would hold.
On CPU, in the data-dependent formulation, blocks are kept small enough to stay in the caches
(:data:`CACHE_BLOCK_BYTES`) unless the caller's memory bound is lower. A loop over blocks
writes every block into the same memory (:class:`BlockBuffer`): the CPU allocator returns large
tensors to the system when they are freed, and faulting fresh pages in for every block costs
as much as the search over it; on CPU the memory of cache-sized blocks is even kept between
calls (:meth:`BlockBuffer.kept`), since the first block of every call would fault it in again.
In the static formulation (every accelerator, graph captures) a
block is as large as the memory bound and the free memory allow (:func:`block_rows`): fewer,
larger kernels, and on CPU the same blocks, so that counting its ops on CPU counts what a GPU
launches.

The distances are ranked, so their matrix products run in full fp32 (:func:`full_fp32`) even
where the user lets fp32 products use TF32, whose 10-bit mantissa would reorder near neighbours.
"""
import contextlib
import threading
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor

from ..sync_free import reuse_buffers, sync_free

#: Default size of one block of the distance matrix (fp32 bytes): about 256 MB. The memory
#: bound; blocks are smaller when that is faster (:data:`CACHE_BLOCK_BYTES`).
DEFAULT_BLOCK_BYTES = 256 * 2**20

#: Preferred size of one block (fp32 bytes): passes over a block that stays in the caches are
#: several times faster than over one streamed from memory; larger blocks only save Python
#: overhead.
CACHE_BLOCK_BYTES = 16 * 2**20

#: Largest block memory (bytes) a thread keeps between calls on CPU (:meth:`BlockBuffer.kept`):
#: the blocks of the data-dependent formulation, not the memory-bound blocks of the static one.
KEPT_BLOCK_BYTES = 4 * CACHE_BLOCK_BYTES

#: The buffers kept by each thread, by dtype (:meth:`BlockBuffer.kept`).
_kept = threading.local()

#: Chunk length of :func:`smallest_k`.
_CHUNK = 64


def rows_per_block(batch: int, num_cols: int, max_block_bytes: int) -> int:
    """Rows of a (batch, rows, num_cols) fp32 block that fit in ``max_block_bytes`` (>= 1)."""
    return max(1, int(max_block_bytes) // (4 * batch * max(num_cols, 1)))


def fast_rows_per_block(batch: int, num_cols: int, max_block_bytes: int) -> int:
    """Rows of a block: what fits in :data:`CACHE_BLOCK_BYTES`, at least 64 rows (the
    matrix product is inefficient on fewer), at most what ``max_block_bytes`` allows."""
    rows = max(64, rows_per_block(batch, num_cols, CACHE_BLOCK_BYTES))
    return min(rows, rows_per_block(batch, num_cols, max_block_bytes))


def block_rows(batch: int,
               num_cols: int,
               max_block_bytes: int,
               device: torch.device,
               static: Optional[bool] = None) -> int:
    """Rows of a block on ``device``: :func:`fast_rows_per_block` on CPU in the data-dependent
    formulation; else what fits in ``max_block_bytes`` and, on CUDA, in a quarter of the free
    device memory. ``static`` None: the device's formulation (:func:`sync_free`)."""
    static = sync_free(device) if static is None else static
    if device.type == 'cpu' and not static:
        return fast_rows_per_block(batch, num_cols, max_block_bytes)
    if device.type == 'cuda' and not torch.compiler.is_compiling():
        max_block_bytes = min(max_block_bytes, torch.cuda.mem_get_info(device)[0] // 4)
    return rows_per_block(batch, num_cols, max_block_bytes)


@contextlib.contextmanager
def full_fp32() -> Iterator[None]:
    """fp32 matrix products in full fp32 inside the block, whatever
    ``torch.backends.cuda.matmul.allow_tf32`` says outside (restored on exit). Inside a graph
    capture the flag cannot change per region; the capture follows the global setting."""
    if torch.compiler.is_compiling():
        yield
        return
    matmul = torch.backends.cuda.matmul
    before = matmul.allow_tf32
    matmul.allow_tf32 = False
    try:
        yield
    finally:
        matmul.allow_tf32 = before


class BlockBuffer:
    """Memory reused by the blocks of a loop: ``take(shape)`` returns a contiguous tensor
    of that shape over the same storage at every call (grown when too small), so a block
    overwrites the previous one; one buffer per tensor that must be alive at the same time.
    Inside a graph capture (tracing, ``torch.compile``) it returns None: the ops allocate.

    Args:
        device (torch.device): Device of the storage.
        dtype (torch.dtype): Its dtype: fp32, or fp64 for fp64 features. Defaults to fp32.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype = torch.float32):
        self.device = device
        self.dtype = dtype
        self.storage = None

    @classmethod
    def kept(cls, device: torch.device, dtype: torch.dtype, block_numel: int) -> 'BlockBuffer':
        """A buffer for a loop over blocks of ``block_numel`` elements: on CPU, where blocks
        fit in :data:`KEPT_BLOCK_BYTES`, the calling thread's buffer of that dtype, whose memory
        outlives the call (glibc returns freed blocks of this size to the system, and faulting
        the first block in again costs about a third of a 16 MB block's matrix product); else a
        new one. The loops that share it run one after the other and keep no view of a block.
        """
        if device.type != 'cpu' or block_numel * torch.finfo(dtype).bits // 8 > KEPT_BLOCK_BYTES:
            return cls(device, dtype)
        buffers = _kept.__dict__.setdefault('buffers', {})
        if dtype not in buffers:
            buffers[dtype] = cls(device, dtype)
        return buffers[dtype]

    def take(self, shape: Tuple[int, ...]) -> Optional[Tensor]:
        if not reuse_buffers():
            return None
        numel = 1
        for size in shape:
            numel *= size
        if self.storage is None or self.storage.numel() < numel:
            # A normal tensor even under inference mode: a kept buffer outlives the call, and
            # an inference tensor could not be written outside inference mode.
            with torch.inference_mode(False):
                self.storage = torch.empty(numel, device=self.device, dtype=self.dtype)
        return self.storage[:numel].view(shape)


def partial_sq_dist_block(a: Tensor,
                          b: Tensor,
                          sq_b: Tensor,
                          buffer: Optional[BlockBuffer] = None) -> Tensor:
    """Squared distances minus |a|^2: ``|b_m|^2 - 2 a_r . b_m``.

    Args:
        a (Tensor): Shape (B, R, C), fp32.
        b (Tensor): Shape (B, M, C), fp32.
        sq_b (Tensor): |b|^2, shape (B, M).
        buffer (BlockBuffer, optional): Memory for the result (overwritten).

    Returns:
        Tensor: Shape (B, R, M). ``max(out + |a_r|^2, 0)`` (fp32, that order) is the clamped
        squared distance of :func:`sq_dist_block`, bit for bit.
    """
    # Autocast would run the product in bf16 / fp16: far too coarse to rank distances.
    # The factor -2 is a power of two: scaling by it is exact.
    out = None if buffer is None else buffer.take((a.shape[0], a.shape[1], b.shape[1]))
    with torch.autocast(a.device.type, enabled=False):
        return torch.baddbmm(sq_b.unsqueeze(1), a, b.transpose(1, 2), alpha=-2, out=out)


def sq_dist_block(a: Tensor,
                  b: Tensor,
                  sq_a: Tensor,
                  sq_b: Tensor,
                  buffer: Optional[BlockBuffer] = None) -> Tensor:
    """Squared distances between two sets of fp32 features.

    Callers pre-scale the features by 1 / sqrt(C), which gives the released d^2 / C without
    a pass over the block.

    Args:
        a (Tensor): Shape (B, R, C).
        b (Tensor): Shape (B, M, C).
        sq_a (Tensor): |a|^2, shape (B, R).
        sq_b (Tensor): |b|^2, shape (B, M).
        buffer (BlockBuffer, optional): Memory for the result (overwritten).

    Returns:
        Tensor: ||a_r - b_m||^2, shape (B, R, M), clamped at 0 against rounding.
    """
    return partial_sq_dist_block(a, b, sq_b, buffer).add_(sq_a.unsqueeze(2)).clamp_(min=0)


def smallest_k(d: Tensor,
               k: int,
               with_max: bool = False,
               chunked: Optional[bool] = None) -> Tuple[Tensor, ...]:
    """The k smallest values of every row of ``d`` (..., N), ascending, and their columns.

    The values are those of ``d.topk(k, largest=False)``; among equal values the columns may
    differ. Long rows are split into chunks of :data:`_CHUNK` adjacent columns: the k smallest
    values of a row lie in the k chunks with the smallest minima (if one lay in another chunk,
    those k chunks would hold k values no larger than it), so a full ``topk`` runs only over
    those k chunks. On CPU a ``topk`` over a long row costs several times the pass that takes
    the chunk minima.

    Args:
        d (Tensor): Shape (..., N).
        k (int): Number of values per row (at most N are returned).
        with_max (bool): Also return the maximum of every row.
        chunked (bool, optional): Allow the chunks (long rows); None: on CPU only.

    Returns:
        tuple[Tensor, ...]: values (..., k), columns (..., k) and, with ``with_max``, the row
        maxima (...).
    """
    n = d.shape[-1]
    k = min(k, n)
    num_chunks = n // _CHUNK
    # The chunks pay on CPU, where a full topk is slow; a GPU's topk is fast.
    chunked = d.device.type == 'cpu' if chunked is None else chunked
    if num_chunks < 4 * k or not chunked:
        values, cols = d.topk(k, dim=-1, largest=False)
    else:
        lead = d.shape[:-1]
        split = num_chunks * _CHUNK
        chunks = d.narrow(-1, 0, split).unflatten(-1, (num_chunks, _CHUNK))
        # The order of the k best chunks does not matter: their candidates are ranked next.
        best = chunks.amin(-1).topk(k, dim=-1, largest=False, sorted=False).indices  # (..., k)
        # Indexing copies the chosen chunks whole, several times faster than an element-wise
        # gather.
        rows = torch.arange(best.numel() // k, device=d.device).unsqueeze(1)
        cand = chunks.reshape(-1, num_chunks, _CHUNK)[rows, best.reshape(-1, k)]
        values, pos = cand.view(*lead, k * _CHUNK).topk(k, dim=-1, largest=False)
        # Candidate pos is column pos % CHUNK of chunk best[pos // CHUNK].
        cols = torch.gather(best, -1, pos // _CHUNK) * _CHUNK + pos % _CHUNK
        if split < n:
            tail_values, tail_pos = d.narrow(-1, split, n - split).topk(min(k, n - split),
                                                                        dim=-1,
                                                                        largest=False)
            values, pos = torch.cat([values, tail_values], dim=-1).topk(k, dim=-1, largest=False)
            cols = torch.gather(torch.cat([cols, tail_pos + split], dim=-1), -1, pos)
    return (values, cols, d.amax(dim=-1)) if with_max else (values, cols)


@torch.no_grad()
def nearest_centre(x: Tensor,
                   centres: Tensor,
                   max_block_bytes: int = DEFAULT_BLOCK_BYTES,
                   static: Optional[bool] = None,
                   sq_x: Optional[Tensor] = None,
                   sq_c: Optional[Tensor] = None) -> Tensor:
    """Index of the nearest centre of every token (ties: the lowest centre index).

    Args:
        x (Tensor): Token features, shape (B, N, C).
        centres (Tensor): Centre features, shape (B, M, C).
        max_block_bytes (int): Memory bound of one block of the (N, M) distance matrix.
        static (bool, optional): Block sizes of the static formulation (:func:`block_rows`).
        sq_x (Tensor, optional): |x|^2 (B, N), when the caller has it.
        sq_c (Tensor, optional): |centres|^2 (B, M), when the caller has it.

    Returns:
        Tensor: Long, shape (B, N), values in [0, M).
    """
    # Unscaled: the 1 / sqrt(C) of the released distance does not change the nearest centre.
    dtype = torch.promote_types(x.dtype, torch.float32)
    x = x.to(dtype)
    centres = centres.to(dtype)
    B, N, _ = x.shape
    sq_x = (x * x).sum(-1) if sq_x is None else sq_x
    sq_c = (centres * centres).sum(-1) if sq_c is None else sq_c
    # Ties after the rounding of "+ |x|^2" decide the lowest index: the full distances are
    # needed here (not only the partial block).
    rows = block_rows(B, centres.shape[1], max_block_bytes, x.device, static)
    if rows >= N:
        return sq_dist_block(x, centres, sq_x, sq_c).argmin(dim=-1)
    out = torch.empty(B, N, dtype=torch.long, device=x.device)
    buffer = BlockBuffer.kept(x.device, dtype, B * rows * centres.shape[1])
    for r0 in range(0, N, rows):
        r1 = min(N, r0 + rows)
        d2 = sq_dist_block(x[:, r0:r1], centres, sq_x[:, r0:r1], sq_c, buffer)
        out[:, r0:r1] = d2.argmin(dim=-1)
    return out
