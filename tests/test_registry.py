import importlib

import pytest
from mmengine.registry import DefaultScope

import tcformer_mm  # noqa: F401
from tcformer_mm.registry import CODEBASES, codebase_registries, register_module

SCOPES = ['mmpretrain', 'mmpose', 'mmseg', 'mmdet']


def test_all_four_codebases_found():
    assert set(codebase_registries()) == set(SCOPES)


@pytest.mark.parametrize('scope', SCOPES)
def test_registered_module_builds_in_each_scope(scope):

    @register_module(name='_TcformerMmRegistryProbe')
    class Probe:

        def __init__(self, value=1):
            self.value = value

    registry = importlib.import_module(CODEBASES[scope]).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        built = registry.build(dict(type='_TcformerMmRegistryProbe', value=3))
    assert isinstance(built, Probe) and built.value == 3
    for other in codebase_registries().values():
        other.module_dict.pop('_TcformerMmRegistryProbe')


@pytest.mark.parametrize('scope', SCOPES)
@pytest.mark.parametrize('name', ['TCFormer'])
def test_tcformer_modules_resolve_in_each_scope(scope, name):
    registry = importlib.import_module(CODEBASES[scope]).MODELS
    assert registry.get(name) is not None, f'{name} is not registered in {scope}'
    assert registry.get(f'{scope}.{name}') is registry.get(name)


def test_missing_codebase_is_skipped(monkeypatch):
    """A user with only some codebases installed still gets the others."""
    import tcformer_mm.registry as reg
    monkeypatch.setattr(reg, '_registries', None)
    monkeypatch.setitem(reg.CODEBASES, 'mmnotinstalled', 'mmnotinstalled.registry')
    found = reg.codebase_registries()
    assert 'mmnotinstalled' not in found and set(SCOPES) <= set(found)
    monkeypatch.setattr(reg, '_registries', None)
