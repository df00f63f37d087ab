"""Every ImageNet-1k config builds, runs a forward pass and has Table I's parameter count."""
import pytest
import torch
from helpers.classification import CONFIG_DIR, build_classifier, logits
from mmengine.config import Config

#: Table I (TPAMI): config -> (arch, #Param in millions, drop path).
TABLE_I = {
    'tcformerv1-light_8xb128_in1k.py': ('v1-light', 14.2, 0.1),
    'tcformerv2-tiny_8xb128_in1k.py': ('v2-tiny', 14.2, 0.1),
    'tcformerv1_8xb128_in1k.py': ('v1', 25.6, 0.1),
    'tcformerv2-small_8xb128_in1k.py': ('v2-small', 25.6, 0.1),
    'tcformerv1-large_8xb128_in1k.py': ('v1-large', 62.8, 0.3),
    'tcformerv2-base_8xb128_in1k.py': ('v2-base', 62.8, 0.3),
}
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('*.py'))


def test_one_config_per_table_row():
    assert set(TABLE_I) <= set(CONFIGS)
    # Plus the four Table IX clustering swaps and the "No CTM" ImageNet backbone of the
    # TPAMI Table VIII segmentation row.
    assert len(CONFIGS) == len(TABLE_I) + 5
    assert 'tcformerv2-small-noctm_8xb128_in1k.py' in CONFIGS


@pytest.mark.parametrize('name', CONFIGS)
def test_builds_and_forwards(name):
    torch.manual_seed(0)
    model = build_classifier(CONFIG_DIR / name)
    images = torch.rand(2, 3, 64, 64)
    out = logits(model, images)
    assert tuple(out.shape) == (2, 1000) and torch.isfinite(out).all()
    # The predict path (what tools/test.py and the inferencer use) gives the same scores.
    with torch.no_grad():
        [sample, _] = model(images, mode='predict')
    assert torch.allclose(sample.pred_score, out[0].softmax(-1), atol=1e-6)


@pytest.mark.parametrize('name', sorted(TABLE_I))
def test_parameters_match_table_i(name):
    arch, params, drop_path = TABLE_I[name]
    model = build_classifier(CONFIG_DIR / name)
    assert model.backbone.arch_name == arch
    count = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(count - params) < 0.1, f'{name}: {count:.3f}M vs Table I {params}M'
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    assert cfg.model.backbone.drop_path_rate == drop_path


@pytest.mark.parametrize('name', sorted(TABLE_I))
def test_recipe(name):
    """TPAMI 4.1 / PVT: 300 epochs, AdamW 1e-3 at 8 x 128, wd 0.05, 5 warm-up epochs."""
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports == dict(imports=['tcformer_mm'], allow_failed_imports=False)
    assert cfg.train_cfg.max_epochs == 300 and cfg.train_dataloader.batch_size == 128
    assert cfg.auto_scale_lr == dict(base_batch_size=1024)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, opt.betas) == ('AdamW', 1e-3, 0.05, (0.9, 0.999))
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end, cosine.type, cosine.end) == ('LinearLR', 5,
                                                                  'CosineAnnealingLR', 300)
    assert cfg.model.backbone.output_format == 'tokens' and cfg.model.backbone.out_indices == (3, )
    assert cfg.model.head.loss == dict(type='LabelSmoothLoss',
                                       label_smooth_val=0.1,
                                       mode='original')
    assert cfg.model.train_cfg.augments == [
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]
    erasing = [t for t in cfg.train_pipeline if t.type == 'RandomErasing']
    assert erasing and erasing[0].erase_prob == 0.25
    assert [t.type for t in cfg.test_pipeline][1:3] == ['ResizeEdge', 'CenterCrop']
    assert cfg.test_pipeline[1].scale == 256 and cfg.test_pipeline[2].crop_size == 224
    clip = cfg.optim_wrapper.get('clip_grad')
    assert (clip is not None) == (TABLE_I[name][2] == 0.3)
