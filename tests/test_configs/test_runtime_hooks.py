"""Every runnable config of the repository stops at NaN / Inf weights or losses: the runtime
bases put ``NonFiniteCheckHook`` in ``custom_hooks``, and a config that sets its own
``custom_hooks`` must keep it."""
import pytest
from conftest import ROOT
from mmengine.config import Config

CONFIGS = sorted(p for folder in ('configs', 'projects') for p in (ROOT / folder).rglob('*.py')
                 if '_base_' not in p.parts and 'configs' in p.relative_to(ROOT).parts[:3])


def test_configs_found():
    assert len(CONFIGS) > 50


@pytest.mark.parametrize('path', CONFIGS, ids=[str(p.relative_to(ROOT)) for p in CONFIGS])
def test_non_finite_check_hook(path):
    hooks = [h['type'] for h in Config.fromfile(str(path)).get('custom_hooks', [])]
    assert hooks.count('NonFiniteCheckHook') == 1, hooks
