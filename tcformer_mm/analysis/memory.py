"""Memory of this process, for the memory benchmarks (``tools/analysis_tools``)."""
import os
import resource
import sys


def rss_kib() -> int:
    """Current resident set size in KiB (Linux ``/proc/self/statm``)."""
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') // 1024


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far in KiB (``ru_maxrss``, which macOS gives
    in bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == 'darwin' else peak
