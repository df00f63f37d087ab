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
