"""Every layer keeps the key names of the released checkpoints."""

from tcformer_mm.models.layers import CTM, GridBlock, OverlapPatchEmbed, TCBlock


def test_released_keys():
    grid = GridBlock(64, 1, 8, sr_ratio=8)
    assert set(grid.state_dict()) == {
        'norm1.weight', 'norm1.bias', 'attn.q.weight', 'attn.q.bias', 'attn.kv.weight',
        'attn.kv.bias', 'attn.proj.weight', 'attn.proj.bias', 'attn.sr.weight', 'attn.sr.bias',
        'attn.norm.weight', 'attn.norm.bias', 'norm2.weight', 'norm2.bias', 'mlp.fc1.weight',
        'mlp.fc1.bias', 'mlp.dwconv.dwconv.weight', 'mlp.dwconv.dwconv.bias', 'mlp.fc2.weight',
        'mlp.fc2.bias'
    }
    assert grid.state_dict()['attn.kv.weight'].shape == (128, 64)
    assert grid.state_dict()['mlp.dwconv.dwconv.weight'].shape == (512, 1, 3, 3)

    block = TCBlock(128, 2, 8, sr_ratio=4)
    keys = set(block.state_dict())
    assert keys == (set(grid.state_dict()) - {'mlp.dwconv.dwconv.weight', 'mlp.dwconv.dwconv.bias'}
                    | {'mlp.dwconv.weight', 'mlp.dwconv.bias', 'mlp.dwconv.skip.weight'})
    assert block.state_dict()['mlp.dwconv.skip.weight'].shape == (1024, 1, 1)
    assert block.state_dict()['attn.sr.weight'].shape == (128, 128, 4, 4)
    # Stage 4 (sr 1) and the avg-pool reduction have no sr/norm.
    for b in (TCBlock(512, 8, 4, sr_ratio=1), TCBlock(256, 4, 4, sr_ratio=4, kv_reduction='pool')):
        assert not any(k.startswith(('attn.sr', 'attn.norm')) for k in b.state_dict())

    ctm = CTM(64, 128)
    assert {
        k: tuple(v.shape)
        for k, v in ctm.state_dict().items()
    } == {
        'conv.weight': (128, 64, 3, 3),
        'conv.bias': (128, ),
        'conv.skip.weight': (128, 64, 1),
        'norm.weight': (128, ),
        'norm.bias': (128, ),
        'score.weight': (1, 128),
        'score.bias': (1, )
    }
    embed = OverlapPatchEmbed(3, 64)
    assert set(embed.state_dict()) == {'proj.weight', 'proj.bias', 'norm.weight', 'norm.bias'}
    assert embed.proj.kernel_size == (7, 7) and embed.proj.stride == (4, 4)
