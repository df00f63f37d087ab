"""tools/analysis_tools/tiny_benchmark.py, reduced: two tasks, a few iterations, no stock model.
What it asserts is learning (the trained model beats the untrained one by a clear margin),
not a final value."""
import json

from conftest import run_tool

TOOL = 'tools/analysis_tools/tiny_benchmark.py'


def test_tiny_benchmark_shows_learning(tiny_data, tmp_path):
    out = tmp_path / 'results.md'
    run_tool([
        TOOL, '--quick', '--no-stock', '--tasks', 'classification', 'semantic-fpn', '--data-root',
        str(tiny_data), '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out)
    ],
             timeout=1200)
    results = json.loads(out.with_suffix('.json').read_text())
    cls, seg = results['classification'], results['semantic-fpn']
    assert cls['tcformer']['accuracy/top1'] > cls['untrained']['accuracy/top1'] + 25
    assert seg['tcformer']['mIoU'] > seg['untrained']['mIoU'] + 5
    # The best constant predictions: the 4 classes are balanced; one ADE class everywhere.
    assert cls['untrained']['constant/accuracy/top1'] == 25.0
    assert 5 < seg['untrained']['constant/mIoU'] < seg['tcformer']['mIoU'] - 5
    assert cls['iterations'] == 16 and seg['iterations'] == 20
    table = out.read_text()
    assert '| classification | top-1 (%) |' in table and '| semantic-fpn | mIoU |' in table
    assert '| best constant |' in table.splitlines()[0]
