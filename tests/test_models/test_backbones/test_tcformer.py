"""TCFormer backbone: settings, size checks, output shapes of every arch, determinism,
parameters, freezing, clustering swap."""
import math

import pytest
import torch
import torch.nn as nn

from tcformer_mm.models import CTM, OverlapPatchEmbed, TCFormer
from tcformer_mm.ops import TokenSet, token2map

# Table I, with a 1000-class linear head on the mean token of the last stage.
PARAMS_M = {
    'v1-light': 14.23, 'v2-tiny': 14.23,
    'v1': 25.59, 'v2-small': 25.59,
    'v1-large': 62.82, 'v2-base': 62.82,
}  # yapf: disable


def small_model(arch='v2-tiny', **kwargs):
    torch.manual_seed(0)
    model = TCFormer(arch, **kwargs)
    model.init_weights()
    return model


@pytest.mark.parametrize('arch', sorted(PARAMS_M))
def test_parameter_count(arch):
    model = TCFormer(arch)
    head = nn.Linear(model.embed_dims[-1], 1000)
    total = sum(p.numel() for m in (model, head) for p in m.parameters()) / 1e6
    assert abs(total - PARAMS_M[arch]) < 0.05, total


def test_arch_presets():
    model = TCFormer('v1-large')
    assert model.depths == [3, 8, 27, 3] and model.num_parts == [1, 1, 1]
    assert [len(stage.blocks) for stage in model.stages] == [3, 8, 27, 3]
    model = TCFormer('v2-tiny', num_parts=(4, 1, 1))
    assert model.num_parts == [4, 1, 1] and model.stages[1].downsample.num_parts == 4
    settings = TCFormer.arch_zoo['v2-small']
    assert settings['embed_dims'] == [64, 128, 320, 512]
    assert settings['num_heads'] == [1, 2, 5, 8]
    assert settings['mlp_ratios'] == [8, 8, 4, 4]
    assert settings['sr_ratios'] == [8, 4, 2, 1]
    assert model.stages[0].norm.eps == 1e-6 and model.stages[1].blocks[0].norm1.eps == 1e-6
    assert model.stages[0].blocks[0].attn.q.bias is not None  # qkv bias


def test_custom_arch_validation():
    custom = dict(embed_dims=[32, 64, 160, 256],
                  depths=[1, 1, 1, 1],
                  num_heads=[1, 2, 5, 8],
                  mlp_ratios=[4, 4, 4, 4],
                  sr_ratios=[8, 4, 2, 1],
                  num_parts=[4, 1, 1])
    model = TCFormer(custom).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.x.shape[-1] for o in outs] == [32, 64, 160, 256]

    missing = {k: v for k, v in custom.items() if k != 'sr_ratios'}
    with pytest.raises(ValueError, match="missing keys \\['sr_ratios'\\]"):
        TCFormer(missing)
    with pytest.raises(ValueError, match="unknown keys \\['patch_sizes'\\]"):
        TCFormer(dict(custom, patch_sizes=[7, 3, 3, 3]))
    with pytest.raises(ValueError, match="'depths' must be a list of 4"):
        TCFormer(dict(custom, depths=[1, 1, 1]))
    with pytest.raises(ValueError,
                       match='num_heads of stage 1 must be a positive integer '
                       'dividing its embed_dims 32, got 3'):
        TCFormer(dict(custom, num_heads=[3, 2, 5, 8]))
    with pytest.raises(ValueError, match='square'):
        TCFormer(dict(custom, num_parts=[8, 1, 1]))
    with pytest.raises(ValueError, match='not in the default archs'):
        TCFormer('v3')
    with pytest.raises(ValueError, match='out_indices'):
        TCFormer('v2-tiny', out_indices=(4, ))
    with pytest.raises(ValueError, match='output_format'):
        TCFormer('v2-tiny', output_format='dict')


@pytest.mark.parametrize('arch', ['v1-light', 'v2-tiny'])
def test_too_small_input(arch):
    model = TCFormer(arch).eval()
    assert model.min_input_size == 29
    with torch.no_grad():
        model(torch.randn(1, 3, 29, 29))
        for size in [(28, 64), (64, 20), (16, 16)]:
            with pytest.raises(ValueError) as err:
                model(torch.randn(1, 3, *size))
            assert f'{size[0]}x{size[1]}' in str(err.value)
            assert '29x29' in str(err.value)


def test_determinism():
    model = small_model('v1-light', drop_path_rate=0.)
    x = torch.randn(2, 3, 96, 80)
    for mode in (False, True):  # eval, then train (no dropout configured): same clusters
        model.train(mode)
        with torch.no_grad():
            first, second = model(x), model(x.clone())
        for a, b in zip(first, second):
            assert torch.equal(a.x, b.x)
            assert torch.equal(a.idx_token, b.idx_token)
            assert torch.equal(a.agg_weight, b.agg_weight)


def test_bf16_autocast():
    model = small_model().eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        outs = model(torch.randn(1, 3, 96, 64))
    assert all(torch.isfinite(o.x.float()).all() for o in outs)


def test_backward_reaches_every_parameter():
    model = small_model(drop_path_rate=0.).train()
    outs = model(torch.randn(1, 3, 64, 64))
    sum(o.x.mean() for o in outs).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert no_grad == []
    # The importance score learns through the merge (eq. 3) and the attention (eq. 4).
    assert model.stages[1].downsample.score.weight.grad.abs().sum() > 0


def test_with_cp_matches():
    x = torch.randn(1, 3, 64, 64)
    grads = []
    for with_cp in (False, True):
        model = small_model(with_cp=with_cp, drop_path_rate=0.).train()
        sum(o.x.sum() for o in model(x)).backward()
        grads.append(model.stages[1].blocks[0].attn.q.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def _frozen_prefixes(frozen_stages):
    if frozen_stages < 0:
        return ()
    prefixes = ['stages.0.downsample.']
    for i in range(frozen_stages):
        prefixes += [f'stages.{i}.blocks.', f'stages.{i}.norm.']
        if i:
            prefixes.append(f'stages.{i}.downsample.')
    return tuple(prefixes)


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 4])
def test_frozen_stages(frozen_stages):
    model = TCFormer('v2-tiny', frozen_stages=frozen_stages)
    model.train()
    prefixes = _frozen_prefixes(frozen_stages)
    for name, param in model.named_parameters():
        assert param.requires_grad != name.startswith(prefixes), name
    for name, module in model.named_modules():
        if name and name.startswith(prefixes):
            assert not module.training, name
    assert model.training
    if frozen_stages == 2:
        assert not model.stages[1].downsample.training and model.stages[2].downsample.training


def test_clustering_swap_keeps_weights():
    model = small_model('v1-light', drop_path_rate=0.).eval()
    x = torch.randn(1, 3, 96, 96)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        reference = model(x)
        for method in ('kmeans', 'topk', 'bsm'):
            model.set_clustering(dict(type=method))
            assert all(
                type(stage.downsample.clustering).__name__ != 'DPCKNN'
                for stage in model.stages[1:])
            outs = model(x)
            assert set(model.state_dict()) == set(state)
            assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
            assert torch.equal(outs[0].x, reference[0].x)  # before any clustering
            assert [o.num_tokens for o in outs] == [o.num_tokens for o in reference]
        assert not torch.equal(outs[1].idx_token, reference[1].idx_token)
        model.set_clustering(dict(type='dpc_knn', k=5))
        again = model(x)
    for a, b in zip(again, reference):
        assert torch.equal(a.x, b.x) and torch.equal(a.idx_token, b.idx_token)


def test_registered():
    from mmengine.registry import DefaultScope

    from tcformer_mm.registry import codebase_registries
    registries = codebase_registries()
    assert registries, 'no OpenMMLab codebase installed'
    for scope, registry in registries.items():
        # Build in the codebase's own scope, whatever scope an earlier test left current.
        with DefaultScope.overwrite_default_scope(scope):
            model = registry.build(dict(type='TCFormer', arch='v2-tiny', out_indices=(3, )))
        assert isinstance(model, TCFormer) and model.out_indices == (3, )


def test_tokens_output_is_token_set():
    model = small_model().eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert all(isinstance(o, TokenSet) for o in outs)
    assert outs[0].is_grid and not outs[1].is_grid


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_without_ctm_is_pvtv2_shaped():
    """use_ctm=False: strided convs and grid blocks instead of CTMs, PVTv2-B2's parameters."""
    from mmdet.models.backbones import PyramidVisionTransformerV2
    model = TCFormer(arch='v2-small', use_ctm=False).eval()
    pvt = PyramidVisionTransformerV2(embed_dims=64, num_layers=[3, 4, 6, 3])
    assert _count(model) == _count(pvt)
    assert not any(isinstance(m, CTM) for m in model.modules())
    assert all(isinstance(stage.downsample, OverlapPatchEmbed) for stage in model.stages)
    with pytest.raises(ValueError, match='use_ctm=False'):
        model.set_clustering(dict(type='kmeans'))

    images = torch.randn(2, 3, 100, 75)
    with torch.no_grad():
        tokens = model(images)
        model.output_format = 'maps'
        maps = model(images)
    sizes = [(25, 19), (13, 10), (7, 5), (4, 3)]
    for t, m, size in zip(tokens, maps, sizes):
        # Grid tokens: one token per map pixel, each initial cell in the pixel containing it.
        assert t.map_size == size and t.num_tokens == size[0] * size[1]
        assert t.init_grid_size == (25, 19)
        torch.testing.assert_close(token2map(t), m)
        torch.testing.assert_close(m.flatten(2).transpose(1, 2), t.x)


ARCHS = ['v1-light', 'v1', 'v1-large', 'v2-tiny', 'v2-small', 'v2-base']
SIZES = [(224, 224), (256, 192), (33, 33), (112, 137)]
DIMS = [64, 128, 320, 512]


def stage_map_sizes(h, w):
    sizes = [((h - 1) // 4 + 1, (w - 1) // 4 + 1)]
    for _ in range(3):
        sizes.append(((sizes[-1][0] - 1) // 2 + 1, (sizes[-1][1] - 1) // 2 + 1))
    return sizes


def check_tokens(outs, num_parts, b, h, w):
    map_sizes = stage_map_sizes(h, w)
    n0 = map_sizes[0][0] * map_sizes[0][1]
    assert len(outs) == 4
    for i, tokens in enumerate(outs):
        n = tokens.num_tokens
        assert tokens.x.shape == (b, n, DIMS[i])
        assert tokens.map_size == map_sizes[i]
        assert tokens.init_grid_size == map_sizes[0]
        assert tokens.idx_token.shape == (b, n0) and tokens.agg_weight.shape == (b, n0, 1)
        assert tokens.score is None
        assert 0 <= int(tokens.idx_token.min()) and int(tokens.idx_token.max()) < n
        assert torch.isfinite(tokens.x).all()
        if i == 0:
            assert n == n0
            continue
        prev = outs[i - 1].num_tokens
        parts = num_parts[i - 1]
        if parts == 1:
            assert n == math.ceil(prev / 4)  # the released global CTM
        else:
            # Local CTM: equal cluster counts in every part, a quarter of the tokens overall.
            assert n % parts == 0 and abs(n - prev / 4) <= parts


@pytest.mark.parametrize('arch', ARCHS)
def test_shapes(arch):
    torch.manual_seed(0)
    model = TCFormer(arch, drop_path_rate=0.).eval()
    num_parts = model.num_parts
    assert list(num_parts) == ([1, 1, 1] if arch.startswith('v1') else [16, 4, 1])
    with torch.no_grad():
        for i, (h, w) in enumerate(SIZES):
            b = 2 if i == 0 else 1
            check_tokens(model(torch.randn(b, 3, h, w)), num_parts, b, h, w)
        # Feature maps at strides 4 / 8 / 16 / 32, from the same weights.
        model.output_format = 'maps'
        h, w = 256, 192
        maps = model(torch.randn(1, 3, h, w))
        assert [tuple(m.shape) for m in maps] == [(1, c, *s)
                                                  for c, s in zip(DIMS, stage_map_sizes(h, w))]


def test_maps_format_and_out_indices():
    model = TCFormer('v2-tiny', out_indices=(1, -1), output_format='maps').eval()
    with torch.no_grad():
        maps = model(torch.randn(1, 3, 112, 137))
    assert [tuple(m.shape) for m in maps] == [(1, 128, 14, 18), (1, 512, 4, 5)]


def test_large_input_local_clustering():
    """800x1333 (detection size) with the local CTM of V2."""
    model = TCFormer('v2-tiny', out_indices=(3, ), output_format='maps').eval()
    with torch.no_grad():
        (out, ) = model(torch.randn(1, 3, 800, 1333))
    assert out.shape == (1, 512, 25, 42) and torch.isfinite(out).all()
