"""FLOPs counted the papers' way: the rules, Table I / II / IX totals, the CLI and its errors."""

import pytest
import torch
import torch.nn as nn
from conftest import ROOT
from mmengine.config import Config

from tcformer_mm.analysis import FlopCounter, config_flops, count_flops
from tcformer_mm.analysis.flops import CR_ATTENTION, OUTPUT_TRANSFORMS
from tcformer_mm.models import MTA, TCFormer, TokenConv
from tcformer_mm.models.layers import CTM, ClusteringReduction, GridAttention, TCAttention
from tcformer_mm.ops import TokenSet

CLS = ROOT / 'configs/classification/tcformer'

# TPAMI Table I (224x224, 1000 classes): (model, GFLOPs of the table, of the authors' released
# counter, #Param in M).
TABLE_I_ROWS = [
    ('tcformerv1-light', 3.8, 3.84, 14.23),
    ('tcformerv2-tiny', 2.5, 2.50, 14.23),
    ('tcformerv1', 5.9, 5.83, 25.59),
    ('tcformerv2-small', 4.5, 4.49, 25.59),
    ('tcformerv1-large', 12.2, 12.15, 62.82),
    ('tcformerv2-base', 10.8, 10.81, 62.82),
]
TABLE_I = {f'{model}_8xb128_in1k.py': tuple(row) for model, *row in TABLE_I_ROWS}


@pytest.mark.parametrize('config', list(TABLE_I))
def test_table_i(config):
    paper, counter, params = TABLE_I[config]
    result = config_flops(Config.fromfile(str(CLS / config)), (224, 224))
    assert abs(result.gflops - paper) / paper < 0.05, (config, result.gflops)
    assert abs(result.gflops - counter) < 0.006, (config, result.gflops)
    assert round(result.params / 1e6, 2) == params
    # The 512 -> 1000 classifier: numel(input) x C_out, no bias term.
    assert result.by_module['head'] == 512 * 1000


@pytest.mark.parametrize('config, paper', [
    ('tcformerv2-small_8xb128_in1k_kmeans-test.py', 11.7),
    ('tcformerv2-small_8xb128_in1k_bsm-test.py', 6.0),
])
def test_table_ix_clustering_swaps(config, paper):
    result = config_flops(Config.fromfile(str(CLS / config)), (224, 224))
    assert abs(result.gflops - paper) / paper < 0.05, (config, result.gflops)


class WholeBodyHeatmap(nn.Module):
    """The released whole-body model: TCFormer + MTA (256 ch, 4 heads, MLP 4, pool) + 1x1;
    V2 with CR-MTA."""

    def __init__(self, arch):
        super().__init__()
        self.backbone = TCFormer(arch, output_format='tokens')
        self.neck = MTA([64, 128, 320, 512],
                        256,
                        4,
                        num_heads=4,
                        mlp_ratios=4,
                        kv_reduction='cr' if arch.startswith('v2') else 'pool',
                        out_indices=(0, ))
        self.head = nn.Conv2d(256, 133, 1)

    def forward(self, x):
        return self.head(self.neck(self.backbone(x))[0])


@pytest.mark.parametrize('arch, hw, paper, counter', [
    ('v1', (256, 192), 8.7, 8.71),
    ('v1-large', (384, 288), 38.7, 38.65),
    ('v2-small', (256, 192), 7.3, 7.3),
])
def test_table_ii_wholebody(arch, hw, paper, counter):
    model = WholeBodyHeatmap(arch)
    result = count_flops(model, torch.rand(1, 3, *hw))
    assert abs(result.gflops - paper) / paper < 0.05
    assert abs(result.gflops - counter) < 0.05, result.gflops
    # The full convention adds 3 token up-samplings and 4 token->maps, N0 x (C + 4) each, and
    # for CR-MTA the attention products of its 3 blocks over the last-stage tokens.
    n0 = (hw[0] // 4) * (hw[1] // 4)
    assert result.papers_omit[OUTPUT_TRANSFORMS] == 7 * n0 * (256 + 4)
    keys = n0 // 64 if arch.startswith('v2') else 0
    assert result.papers_omit[CR_ATTENTION] == sum(2 * n0 // 4**i * keys * 256 for i in range(3))
    if arch == 'v2-small':  # one cheap model re-counted in the full convention
        full = count_flops(model, torch.rand(1, 3, *hw), convention='full')
        assert full.flops - result.flops == sum(result.papers_omit.values())
        assert full.by_category[CR_ATTENTION] == result.papers_omit[CR_ATTENTION]


def test_ordinary_layer_rules():
    """ptflops' rules: conv with bias, BN doubled, ReLU on outputs, pool on inputs, GELU free."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 10), nn.GELU(),
                          nn.LayerNorm(10, elementwise_affine=False))
    result = count_flops(model, torch.rand(1, 3, 8, 8))
    conv = 8 * 8 * (3 * 9 * 8) + 8 * 8 * 8
    bn = 2 * 8 * 8 * 8
    relu = pool = 8 * 8 * 8
    linear = 128 * 10
    layer_norm = 10
    assert result.by_category == dict(conv=conv,
                                      linear=linear,
                                      norm=bn + layer_norm,
                                      **{'activation/pooling': relu + pool})
    assert result.flops == conv + bn + relu + pool + linear + layer_norm


def test_token_conv_rule():
    """Conv on the map + bias-free skip + token->map (C_in + 4) + map->token (C_out + 4)."""
    conv = TokenConv(16, 32, kernel_size=3, stride=2, padding=1)
    tokens = TokenSet.from_grid(torch.rand(1, 10 * 12, 16), (10, 12))
    with FlopCounter(conv) as counter:
        conv(tokens)
    out_positions = 5 * 6
    assert counter.by_category['conv'] == (out_positions * 16 * 9 * 32 + out_positions * 32 +
                                           120 * 16 * 32)
    assert counter.by_category['token transforms'] == 120 * (16 + 4) + 120 * (32 + 4)


def test_ctm_counts_use_the_forward_token_counts():
    """v2-tiny at 64x64: the CTMs see 256, 64 and 16 tokens in 16, 4 and 1 parts."""
    model = TCFormer('v2-tiny')
    result = count_flops(model, torch.rand(1, 3, 64, 64))
    expected = sum(n * n * c // p + n * 5 + n * n // p + n * c
                   for n, c, p in [(256, 128, 16), (64, 320, 4), (16, 512, 1)])
    assert result.by_category['clustering + merge'] == expected
    # Global clustering costs more only in the distances: N^2 (C + 1) (1 - 1 / P).
    global_result = count_flops(TCFormer('v1-light'), torch.rand(1, 3, 64, 64))
    extra = sum(n * n * (c + 1) - (n * n * c // p + n * n // p)
                for n, c, p in [(256, 128, 16), (64, 320, 4)])
    assert global_result.flops - result.flops == extra


# Layers whose forwards take their inputs under other names: the counter reads none by name.
class RenamedAttention(TCAttention):

    def forward(self, queries, keys=None, *, given_keys=None, merge_into=None):
        return super().forward(queries, keys, reduced_key_value=given_keys, cr_target=merge_into)


class RenamedGridAttention(GridAttention):

    def forward(self, tokens, size):
        return super().forward(tokens, size)


class RenamedReduction(ClusteringReduction):

    def forward(self, source, into):
        return super().forward(source, into)


class RenamedTokenConv(TokenConv):

    def forward(self, token_set, *, token_pairs=None):
        return super().forward(token_set, pairs=token_pairs)


class RenamedCTM(CTM):

    def forward(self, token_set, *, token_pairs=None):
        return super().forward(token_set, pairs=token_pairs)


class RenamedMTA(MTA):

    def forward(self, levels):
        return super().forward(levels)


def _by_category(module, *args, **kwargs):
    with torch.no_grad(), FlopCounter(module.eval(), convention='full') as counter:
        module(*args, **kwargs)
    assert counter.total > 0
    return dict(counter.by_category)


@pytest.mark.parametrize('mode', ['sr', 'pool', 'cr', None])
def test_renamed_attention_keywords_count_the_same(mode):
    """Queries, keys (reduced here or given reduced) and the CR target, under other names."""
    torch.manual_seed(0)
    merged, source = CTM(16, 16)(TokenSet.from_grid(torch.rand(1, 8 * 6, 16), (8, 6)))
    attn = TCAttention(16, 2, sr_ratio=2, kv_reduction=mode)
    renamed = RenamedAttention(16, 2, sr_ratio=2, kv_reduction=mode)
    target = merged if mode == 'cr' else None
    expected = _by_category(attn, merged, source, cr_target=target)
    assert (CR_ATTENTION in expected) == (mode == 'cr')
    assert _by_category(renamed, queries=merged, keys=source, merge_into=target) == expected
    given = TokenSet.from_grid(torch.rand(1, 2 * 3, 16), (2, 3))
    assert (_by_category(renamed, merged,
                         given_keys=given) == _by_category(attn, merged, reduced_key_value=given))


def test_renamed_layer_keywords_count_the_same():
    torch.manual_seed(0)
    grid = TokenSet.from_grid(torch.rand(1, 8 * 6, 16), (8, 6))
    assert (_by_category(RenamedGridAttention(16, 2, sr_ratio=2), tokens=grid.x,
                         size=(8, 6)) == _by_category(GridAttention(16, 2, sr_ratio=2), grid.x,
                                                      (8, 6)))
    assert (_by_category(RenamedTokenConv(16, 32, 3, 2, 1),
                         token_set=grid) == _by_category(TokenConv(16, 32, 3, 2, 1), grid))
    assert _by_category(RenamedCTM(16, 32), token_set=grid) == _by_category(CTM(16, 32), grid)
    merged, source = CTM(16, 16)(grid)
    assert (_by_category(RenamedReduction(16), source=source,
                         into=merged) == _by_category(ClusteringReduction(16), source, merged))
    levels = TCFormer('v2-tiny')(torch.rand(1, 3, 64, 64))
    args = ([64, 128, 320, 512], 32, 5)
    kwargs = dict(add_extra_convs='on_input', kv_reduction='cr')
    assert (_by_category(RenamedMTA(*args, **kwargs),
                         levels=levels) == _by_category(MTA(*args, **kwargs), levels))
