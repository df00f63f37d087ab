"""TPAMI Table IX: the V2-Small classifier evaluated with other clusterings (same weights)."""
import itertools

import torch
from helpers.classification import CONFIG_DIR, build_classifier, logits
from mmengine.config import Config

TRAINED = CONFIG_DIR / 'tcformerv2-small_8xb128_in1k.py'
#: config suffix -> (clustering type, CTM parts)
SWAPS = {
    'kmeans': ('kmeans', [1, 1, 1]),
    'bsm': ('bsm', [1, 1, 1]),
    'global-dpc-knn': ('dpc_knn', [1, 1, 1]),
    'local-dpc-knn': ('dpc_knn', [16, 4, 1]),
}


def swap_config(key):
    return CONFIG_DIR / f'tcformerv2-small_8xb128_in1k_{key}-test.py'


def test_swaps_override_only_the_clustering():
    trained = Config.fromfile(str(TRAINED)).to_dict()
    for key, (method, parts) in SWAPS.items():
        cfg = Config.fromfile(str(swap_config(key))).to_dict()
        backbone = cfg['model'].pop('backbone')
        assert backbone.pop('clustering')['type'] == method
        assert list(backbone.pop('num_parts')) == parts
        expected = dict(trained['model'])
        assert backbone == expected.pop('backbone')
        assert cfg['model'] == expected
        cfg.pop('model')
        assert cfg == {k: v for k, v in trained.items() if k != 'model'}


def test_same_weights_other_clusterings():
    torch.manual_seed(0)
    trained = build_classifier(TRAINED)
    state = trained.state_dict()
    # 128x128: at smaller inputs the untrained model's tokens are so alike that several
    # clusterings happen to pick the same groups.
    torch.manual_seed(1)
    images = torch.rand(2, 3, 128, 128)
    outs = {}
    for key, (method, parts) in SWAPS.items():
        model = build_classifier(swap_config(key))
        model.load_state_dict(state, strict=True)
        ctms = [stage.downsample for stage in model.backbone.stages[1:]]
        assert all(ctm.clustering.name == method for ctm in ctms)
        assert [ctm.num_parts for ctm in ctms] == parts
        outs[key] = logits(model, images)
        assert outs[key].shape == (2, 1000) and torch.isfinite(outs[key]).all()
    # The swap configs' default (local DPC-kNN) is the trained model itself.
    assert torch.equal(outs['local-dpc-knn'], logits(trained, images))
    for a, b in itertools.combinations(SWAPS, 2):
        assert (outs[a] - outs[b]).abs().max() > 1e-3, f'{a} and {b} gave the same logits'
