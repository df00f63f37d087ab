import pytest
import torch

from tcformer_mm.ops import TokenSet, token2map

pytestmark = pytest.mark.usefixtures('formulation')


def test_from_grid_fields():
    x = torch.randn(2, 12, 5)
    tokens = TokenSet.from_grid(x, (3, 4))
    assert tokens.map_size == (3, 4) and tokens.init_grid_size == (3, 4)
    assert tokens.idx_token.dtype == torch.long
    assert torch.equal(tokens.idx_token, torch.arange(12).expand(2, 12))
    assert torch.equal(tokens.agg_weight, torch.ones(2, 12, 1))
    assert tokens.score is None
    assert tokens.num_tokens == 12
    assert tokens.is_grid


def test_from_grid_wrong_size():
    with pytest.raises(ValueError, match='H\\*W'):
        TokenSet.from_grid(torch.randn(1, 10, 3), (3, 4))


def test_replace_and_frozen():
    tokens = TokenSet.from_grid(torch.randn(1, 4, 3), [2, 2])
    assert tokens.map_size == (2, 2)  # lists become tuples
    smaller = tokens.replace(map_size=(1, 1))
    assert smaller.map_size == (1, 1) and tokens.map_size == (2, 2)
    assert not smaller.is_grid
    with pytest.raises(Exception):
        tokens.map_size = (1, 1)


@pytest.mark.parametrize('field, value', [
    ('x', torch.randn(4, 3)),
    ('idx_token', torch.zeros(1, 5, dtype=torch.long)),
    ('idx_token', torch.zeros(1, 4, dtype=torch.int32)),
    ('agg_weight', torch.ones(1, 4)),
    ('score', torch.ones(1, 3, 1)),
    ('map_size', (2, 0)),
    ('init_grid_size', (4, )),
])
def test_validation_names_field(field, value):
    tokens = TokenSet.from_grid(torch.randn(1, 4, 3), (2, 2))
    with pytest.raises(ValueError, match=field):
        tokens.replace(**{field: value})


def test_merged_set_is_not_grid():
    tokens = TokenSet.from_grid(torch.randn(1, 4, 3), (2, 2))
    merged = tokens.replace(x=torch.randn(1, 2, 3), idx_token=torch.tensor([[0, 0, 1, 1]]))
    assert merged.num_tokens == 2 and not merged.is_grid


def test_from_grid_coarser_than_initial_grid():
    """Grid tokens of a down-sampled map: each initial cell in the pixel containing it."""
    x = torch.randn(2, 12, 5)
    tokens = TokenSet.from_grid(x, (3, 4), init_grid_size=(11, 13))
    assert tokens.init_grid_size == (11, 13) and tokens.idx_token.shape == (2, 143)
    assert tokens.idx_token.unique().tolist() == list(range(12))
    torch.testing.assert_close(token2map(tokens).flatten(2).transpose(1, 2), x)
    with pytest.raises(ValueError, match='cannot be finer'):
        TokenSet.from_grid(x, (3, 4), init_grid_size=(2, 13))


def test_replace_keeps_pairs_of_the_same_distribution():
    from tcformer_mm.ops import token_map_pairs
    tokens = TokenSet.from_grid(torch.randn(1, 12, 2), (3, 4))
    tokens = tokens.replace(map_size=(2, 2))
    tokens = tokens.replace(pairs=token_map_pairs(tokens))
    assert tokens.replace(x=tokens.x * 2, score=tokens.x[..., :1]).pairs is tokens.pairs
    assert tokens.replace(map_size=(1, 2)).pairs is None
    assert tokens.replace(idx_token=tokens.idx_token.flip(1)).pairs is None
