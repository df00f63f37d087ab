import threading

import torch

from tcformer_mm.ops.clustering.distance import KEPT_BLOCK_BYTES, BlockBuffer


def test_kept_buffer_outlives_the_call_per_thread_and_dtype():
    cpu = torch.device('cpu')
    first = BlockBuffer.kept(cpu, torch.float32, 1000)
    block = first.take((10, 100))
    again = BlockBuffer.kept(cpu, torch.float32, 1000)
    assert again is first
    # The next loop writes into the memory the previous one faulted in.
    assert again.take((5, 100)).data_ptr() == block.data_ptr()
    assert BlockBuffer.kept(cpu, torch.float64, 1000) is not first
    assert BlockBuffer.kept(cpu, torch.float64, 1000).dtype == torch.float64

    # Blocks larger than the bound (the static formulation's) are not kept.
    too_large = KEPT_BLOCK_BYTES // 4 + 1
    assert BlockBuffer.kept(cpu, torch.float32, too_large) is not first
    assert BlockBuffer.kept(cpu, torch.float32,
                            too_large) is not BlockBuffer.kept(cpu, torch.float32, too_large)

    other = []
    thread = threading.Thread(target=lambda: other.append(BlockBuffer.kept(cpu, torch.float32, 1)))
    thread.start()
    thread.join()
    assert other[0] is not first


def test_kept_buffer_made_under_inference_mode_serves_later_calls():
    from tcformer_mm.ops.clustering.dpc_knn import dpc_knn
    x = torch.randn(1, 300, 16, generator=torch.Generator().manual_seed(0))
    # A fresh thread: its first kept buffer is made here, under inference mode (4,000-byte
    # bound: blocks of 64 rows, so the loop takes the kept buffer).
    results = []

    def cluster():
        with torch.inference_mode():
            results.append(dpc_knn(x, 50, max_block_bytes=4000))
        results.append(dpc_knn(x, 50, max_block_bytes=4000))

    thread = threading.Thread(target=cluster)
    thread.start()
    thread.join()
    assert len(results) == 2 and torch.equal(results[0], results[1])
    assert torch.equal(results[1], dpc_knn(x, 50))
