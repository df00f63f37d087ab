"""Every op test runs in both formulations of the token ops (``tcformer_mm/ops/sync_free.py``):
the data-dependent one (CPU default) and the static one (accelerators, graph capture)."""
import pytest

from tcformer_mm.ops.sync_free import ENV_VAR


@pytest.fixture(autouse=True, params=['0', '1'], ids=['data-dependent', 'static'])
def formulation(request, monkeypatch):
    monkeypatch.setenv(ENV_VAR, request.param)
    return request.param
