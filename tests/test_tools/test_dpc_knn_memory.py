"""Global DPC-kNN never holds the N x N distance matrix: measured in a fresh process."""
import re

from conftest import run_tool


def test_global_clustering_memory_is_far_below_the_full_matrix():
    # N = 20,000 tokens: the full fp32 distance matrix would be 1,600 MB.
    out = run_tool([
        'tools/analysis_tools/dpc_knn_memory.py', '--grid', '100', '200', '--channels', '32',
        '--threads', '2'
    ]).stdout
    before = float(re.search(r'peak RSS before clustering: (\d+) MB', out)[1])
    peak = float(re.search(r'peak RSS: (\d+) MB', out)[1])
    assert 'clusters=5000, non-empty=5000' in out
    full_matrix_mb = 20000**2 * 4 / 2**20
    assert peak - before < 0.15 * full_matrix_mb, out
