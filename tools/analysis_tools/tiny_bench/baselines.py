"""The best constant predictions on a validation set: what a model gets without looking."""
from typing import Dict


def constant_top1(dataset) -> Dict[str, float]:
    """Top-1 (%) of always answering the most frequent validation class."""
    import numpy as np
    labels = np.array([info['gt_label'] for info in dataset.load_data_list()])
    return {'accuracy/top1': 100.0 * np.bincount(labels).max() / len(labels)}


def constant_miou(dataset) -> Dict[str, float]:
    """mIoU (%) of the best one-class-everywhere prediction, as ``IoUMetric`` counts it: the
    class's IoU is its pixel share, the other classes present get 0, absent ones do not count."""
    import mmcv
    import numpy as np
    counts = {}
    for info in dataset.load_data_list():
        label = mmcv.imread(info['seg_map_path'], flag='unchanged').astype(np.int64)
        if info.get('reduce_zero_label'):
            label = np.where(label == 0, 255, label - 1)
        values, numbers = np.unique(label[label != 255], return_counts=True)
        for v, n in zip(values.tolist(), numbers.tolist()):
            counts[v] = counts.get(v, 0) + n
    total = sum(counts.values())
    return {'mIoU': 100.0 * max(counts.values()) / total / len(counts)}
