"""tools/analysis_tools/train_memory.py: training-step memory of a model and its PVTv2-B2 swap."""
import re

from conftest import run_tool

# A small Mask R-CNN: masks, RoI heads and the MTA -> FPN swap all take part.
CONFIG = """
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='TCFormer', arch='v2-tiny'),
    neck=dict(_delete_=True, type='MTA', in_channels=[64, 128, 320, 512], out_channels=256,
              num_outs=5, kv_reduction='cr', mlp_ratios=1))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4))
"""


def _params(config_path):
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    cfg = Config.fromfile(str(config_path))
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    return sum(p.numel() for p in model.parameters()) / 1e6


def test_train_memory_reports_model_and_pvtv2_reference(tmp_path):
    config = tmp_path / 'mask-rcnn_tcformerv2-t_mta_tiny.py'
    config.write_text(CONFIG)
    out = run_tool([
        'tools/analysis_tools/train_memory.py',
        str(config), '--shape', '96', '128', '--cfg-options', 'model.backbone.num_parts=[1,1,1]'
    ]).stdout
    rows = re.findall(r'^(\S.*?)\s+([\d.]+)\s+(\d+)\s+(\d+)$', out, flags=re.M)
    assert [r[0] for r in rows] == [config.name, 'PVTv2-B2 swap'], out
    (_, params, peak, extra), (_, ref_params, ref_peak, ref_extra) = rows
    assert abs(float(params) - _params(config)) < 0.01
    # PVTv2-B2 (24.85M) + FPN instead of TCFormerV2-Tiny (13.72M) + CR-MTA: about 11M more.
    assert 10 < float(ref_params) - float(params) < 12.5
    assert int(peak) > int(extra) > 0 and int(ref_peak) > int(ref_extra) > 0
    ratio = float(re.search(r'peak RSS ([\d.]+)x', out).group(1))
    assert abs(ratio - int(peak) / int(ref_peak)) < 0.01


def test_train_memory_rejects_other_codebases():
    result = run_tool(
        ['tools/analysis_tools/train_memory.py', 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'],
        check=False)
    assert result.returncode != 0
    assert "default_scope is 'mmpretrain'" in result.stderr
