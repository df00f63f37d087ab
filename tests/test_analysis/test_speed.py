"""tcformer_mm.analysis.speed.time_interleaved: rounds, and a deadline that still leaves one
timed round."""
import time

import torch

from tcformer_mm.analysis.speed import time_interleaved

CPU = torch.device('cpu')


def _counted(calls, seconds=0.0):

    def step():
        calls.append(1)
        time.sleep(seconds)

    return step


def test_every_round_is_run_without_a_deadline():
    calls = []
    times = time_interleaved([_counted(calls), _counted(calls)], 2, 3, CPU)
    assert [len(t) for t in times] == [3, 3] and len(calls) == 10


def test_a_passed_deadline_leaves_one_warmup_and_one_timed_round():
    calls = []
    times = time_interleaved([_counted(calls)], 2, 5, CPU, deadline=time.perf_counter() - 1)
    assert [len(t) for t in times] == [1] and len(calls) == 2
    calls.clear()
    times = time_interleaved([_counted(calls)], 0, 5, CPU, deadline=time.perf_counter() - 1)
    assert [len(t) for t in times] == [1] and len(calls) == 1


def test_timing_stops_at_the_deadline():
    calls = []
    times = time_interleaved([_counted(calls, 0.05)], 1, 100, CPU, time.perf_counter() + 0.3)
    assert 1 <= len(times[0]) < 10
