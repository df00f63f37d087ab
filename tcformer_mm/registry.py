"""Registration of tcformer_mm modules into the OpenMMLab codebases.

tcformer_mm is a plugin: its backbone and necks are built by mmpretrain, mmpose, mmseg and
mmdet configs, each of which looks modules up in its own ``MODELS`` registry (its
``default_scope``). :func:`register_module` adds a class to the registry of every codebase that
is installed, so a user who has only some of them can still use the rest.
"""
import importlib
import warnings
from typing import Callable, Dict, Optional

#: Codebase package -> the module that holds its registries.
CODEBASES = {
    'mmpretrain': 'mmpretrain.registry',
    'mmpose': 'mmpose.registry',
    'mmseg': 'mmseg.registry',
    'mmdet': 'mmdet.registry',
}

_registries: Optional[Dict[str, object]] = None


def codebase_registries(name: str = 'MODELS') -> Dict[str, object]:
    """Return ``{codebase: registry}`` for the registry ``name`` of each installed codebase.

    A codebase that is not installed is skipped. One that is installed but fails to import is
    skipped too, with a warning naming the error, so one broken install does not take the
    others down.
    """
    global _registries
    if name == 'MODELS' and _registries is not None:
        return _registries
    found = {}
    for codebase, module_name in CODEBASES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name is not None and (e.name == codebase or e.name.startswith(codebase + '.')):
                continue
            warnings.warn(f'tcformer_mm: {codebase} is installed but its registry does not '
                          f'import ({e}); our modules are not registered there.')
            continue
        except Exception as e:  # a broken install must not stop the other codebases
            warnings.warn(f'tcformer_mm: {codebase} is installed but its registry does not '
                          f'import ({type(e).__name__}: {e}); our modules are not registered '
                          'there.')
            continue
        found[codebase] = getattr(module, name)
    if name == 'MODELS':
        _registries = found
    return found


def register_module(name: Optional[str] = None, registry: str = 'MODELS') -> Callable:
    """Class decorator: register the class in ``registry`` of every installed codebase.

    Args:
        name (str, optional): Registry key. Defaults to the class name.
        registry (str): Name of the registry in ``<codebase>.registry``. Defaults to
            ``'MODELS'``.
    """

    def _register(cls):
        for codebase_registry in codebase_registries(registry).values():
            codebase_registry.register_module(name=name, module=cls)
        return cls

    return _register
