"""Synthetic SMPL files and builders shared by the tcformer_hmr tests."""
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# The project package is imported as `projects.tcformer_hmr.tcformer_hmr` from the repository
# root, as its configs do.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mmengine.registry import init_default_scope  # noqa: E402

import tcformer_mm  # noqa: E402,F401  (registers TCFormer and the necks)
from projects.tcformer_hmr import tcformer_hmr  # noqa: E402,F401
from projects.tcformer_hmr.tcformer_hmr import SMPLBodyModel  # noqa: E402

PROJECT = ROOT / 'projects' / 'tcformer_hmr'


def use_mmpose_scope():
    """Build in the configs' scope (``LoadImage``, ``TCFormer``, ...), as tests/helpers do."""
    init_default_scope('mmpose')


def load_tool(name):
    """Import a script of the project's tools/ folder as a module."""
    import importlib.util
    path = PROJECT / 'tools' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'tcformer_hmr_tools_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache()
def synthetic_files(out_dir):
    """Write the synthetic SMPL model, regressors and mean parameters; return their paths."""
    return load_tool('make_synthetic_smpl').write_synthetic_smpl(str(out_dir))


def body_model_cfg(files, h36m=True):
    cfg = dict(type='SMPLBodyModel', model_path=files['smpl'], joint_regressor_extra=files['extra'])
    if h36m:
        cfg['joint_regressor_h36m'] = files['h36m']
    return cfg


def build_body_model(files):
    return SMPLBodyModel(**{k: v for k, v in body_model_cfg(files).items() if k != 'type'})
