import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_tool(args, timeout=600, env=None, check=True):
    """Run ``python <args>`` (or ``bash <script>``) from the repository root; return the result."""
    cmd = list(args)
    if cmd[0].endswith('.py'):
        cmd = [sys.executable] + cmd
    elif cmd[0].endswith('.sh'):
        cmd = ['bash'] + cmd
    full_env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    full_env.update(env or {})
    result = subprocess.run(cmd,
                            cwd=ROOT,
                            env=full_env,
                            capture_output=True,
                            text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited with {result.returncode}\n'
                             f'--- stdout ---\n{result.stdout[-6000:]}\n'
                             f'--- stderr ---\n{result.stderr[-6000:]}')
    return result


def run_script(code, env=None, timeout=300):
    """Run ``python -c code`` in a fresh interpreter from the repository root and return the
    JSON its last stdout line prints (the codebases' own inferencers, free of this process's
    imports)."""
    import json
    result = subprocess.run([sys.executable, '-c', code],
                            cwd=ROOT,
                            capture_output=True,
                            text=True,
                            timeout=timeout,
                            env=dict(os.environ, **(env or {})))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def load_script(path):
    """Import a script of the repository (e.g. ``tools/deployment/pytorch2onnx.py``) as a
    module, to call its functions."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def assert_loads_without_trust(work_dir):
    """Every checkpoint a run of this project wrote in ``work_dir`` loads with no opt-in to full
    unpickling and no warning: its globals are all on the loader's allow-list."""
    import warnings

    from tcformer_mm.checkpoint import load_checkpoint_file
    paths = sorted(Path(work_dir).glob('*.pth'))
    assert paths, f'no checkpoint in {work_dir}'
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            checkpoint = load_checkpoint_file(str(path), trust=False)
        assert {'state_dict', 'meta', 'message_hub'} <= set(checkpoint), path


def data_root_options(data_root):
    """``--cfg-options`` pointing the train/val/test dataloaders of a tiny config at data_root."""
    return [
        f'{split}_dataloader.dataset.data_root={data_root}' for split in ('train', 'val', 'test')
    ]


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """All tiny datasets, generated once per test session with the default seed."""
    out = tmp_path_factory.mktemp('tiny')
    run_tool(['tools/dataset_converters/make_tiny_datasets.py', '--out', str(out)])
    return out


@pytest.fixture(params=['0', '1'], ids=['data-dependent', 'static'])
def formulation(request, monkeypatch):
    """Run a test in both formulations of the token ops (``tcformer_mm/ops/sync_free.py``):
    the data-dependent one (CPU default) and the static one (accelerators, graph capture).
    The op tests use it for every test (``pytestmark``)."""
    from tcformer_mm.ops.sync_free import ENV_VAR
    monkeypatch.setenv(ENV_VAR, request.param)
    return request.param
