import pytest
from mmengine.config import Config

from .synthetic import PROJECT

CONFIGS = PROJECT / 'configs'
FULL = [
    'hmr_tcformer_8xb32-80e_mixed-3dpw-224x224.py', 'hmr_tcformer_8xb32-80e_mixed-h36m-224x224.py'
]


@pytest.mark.parametrize('name', FULL)
def test_full_configs_follow_the_paper(name):
    cfg = Config.fromfile(CONFIGS / name)
    assert cfg.default_scope == 'mmpose'
    assert 'projects.tcformer_hmr.tcformer_hmr' in cfg.custom_imports.imports
    assert cfg.model.backbone.arch == 'v1' and cfg.model.head.num_iters == 3
    # CVPR section 4.2: 8 GPUs x 32 images, 80 epochs, Adam lr 2.5e-4 without decay, 224x224.
    assert cfg.train_dataloader.batch_size == 32 and cfg.train_cfg.max_epochs == 80
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=2.5e-4)
    assert not cfg.param_scheduler
    affine = [
        t for t in cfg.train_dataloader.dataset.datasets[0].pipeline
        if t.type == 'MeshTopdownAffine'
    ]
    assert affine[0].input_size == (224, 224)
    # Human3.6M, MPI-INF-3DHP, LSP, LSP-Extended, MPII, COCO, 3DPW train, with SPIN's ratios.
    sets = [d.ann_file for d in cfg.train_dataloader.dataset.datasets]
    assert len(sets) == 7 and '3dpw_train.npz' in sets and 'h36m_train.npz' in sets
    ratios = cfg.train_dataloader.sampler.ratios
    assert sum(ratios) == pytest.approx(1) and ratios[:2] == [0.3, 0.1]
    test = cfg.test_dataloader.dataset.ann_file
    if '3dpw' in name:
        assert test == '3dpw_test.npz' and cfg.test_evaluator.gt_source == 'smpl'
        assert set(cfg.test_evaluator.body_models) == {'m', 'f'}
    else:
        assert test == 'h36m_valid_protocol2.npz'
        assert cfg.test_evaluator.gt_source == 'keypoints_3d'
