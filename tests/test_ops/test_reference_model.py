"""TCFormer, MTA and the released checkpoints against the released computation
(``ops.reference_model``), under weights like trained ones."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tcformer_mm.analysis.fidelity import compare_stages, trained_like_
from tcformer_mm.checkpoint import tcformer_pose_convert
from tcformer_mm.checkpoint.names import to_released_names
from tcformer_mm.models import MTA, TCFormer
from tcformer_mm.ops import TokenSet, reference_model

pytestmark = pytest.mark.usefixtures('formulation')

ROOT = Path(__file__).resolve().parents[2]
WHOLE_BODY = ROOT / 'configs/pose/tcformer/td-hm_tcformerv1_8xb64-210e_coco-wholebody-256x192.py'


def images(size, batch=2, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, *size, generator=g, dtype=torch.float64).to(dtype)


def trained_like_backbone(arch, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    model = TCFormer(arch=arch)
    model.init_weights()
    return trained_like_(model, seed).eval().to(dtype)


def reference_stages(model, img):
    return reference_model.backbone(to_released_names(model.state_dict()),
                                    img,
                                    num_heads=model.num_heads,
                                    sr_ratios=model.sr_ratios,
                                    num_parts=model.num_parts)


@pytest.mark.parametrize('arch', ['v1-light', 'v2-tiny'])
@pytest.mark.parametrize('size', [(64, 80), (61, 93), (97, 75)])
def test_backbone_exact_arithmetic(arch, size):
    """fp64: every token of every stage within 1e-3 (and the same clusters)."""
    model = trained_like_backbone(arch)
    img = images(size)
    with torch.no_grad():
        rows = compare_stages(model(img), reference_stages(model, img))
    for row in rows:
        assert row.share_reassigned == 0, row
        assert row.share_off == 0, row
        assert row.worst < 1e-9, row


@pytest.mark.parametrize('arch', ['v1-light', 'v2-tiny'])
def test_backbone_fp32(arch):
    """fp32 against the fp64 reference: near-ties may flip a few clusters, at most 1% of the
    tokens of any stage are off by more than 1e-3."""
    model = trained_like_backbone(arch, seed=1)
    img = images((96, 128), seed=1)
    with torch.no_grad():
        ours = model.float()(img.float())
        ref = reference_stages(model.double(), img)
    for row in compare_stages(ours, ref):
        assert row.share_off <= 0.01, row


def test_trained_like_weights_make_scores_vary():
    """The check is only meaningful if eq. 3's weights vary within clusters."""
    model = trained_like_backbone('v1-light')
    with torch.no_grad():
        _, source = model.stages[1].downsample(
            TokenSet.from_grid(torch.randn(1, 16 * 20, 64, dtype=torch.float64), (16, 20)))
    weight = source.score.exp()
    assert weight.max() / weight.min() > 10


def trained_like_neck(kv_reduction, seed=0):
    torch.manual_seed(seed)
    neck = MTA([64, 128, 320, 512],
               32,
               num_outs=4,
               num_heads=2,
               mlp_ratios=2,
               kv_reduction=kv_reduction)
    neck.init_weights()
    return trained_like_(neck, seed).eval().double()


@pytest.mark.parametrize('kv_reduction', ['pool', 'sr', 'cr'])
@pytest.mark.parametrize('arch', ['v1-light', 'v2-tiny'])
def test_mta(kv_reduction, arch):
    backbone = trained_like_backbone(arch)
    neck = trained_like_neck(kv_reduction)
    with torch.no_grad():
        stages = backbone(images((61, 93)))
        ours = neck(stages)
        ref = reference_model.mta(neck.state_dict(),
                                  stages,
                                  num_heads=[2] * 4,
                                  kv_reduction=kv_reduction)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_mta_norms_and_initialisation():
    """The released neck: LayerNorm eps 1e-5; Linear truncated normal (std 0.02) with zero
    bias; every Conv2d of the merge blocks Xavier-uniform."""
    torch.manual_seed(0)
    neck = MTA([64, 128, 320, 512], 256, num_outs=4, kv_reduction='pool')
    neck.init_weights()
    norms = [m for m in neck.merge_blocks.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert norms and all(m.eps == 1e-5 for m in norms)
    fc1 = neck.merge_blocks[0].mlp.fc1
    assert torch.equal(fc1.bias, torch.zeros_like(fc1.bias))
    # Truncated at +-2 (absolute, as timm's and mmengine's defaults): a plain N(0, 0.02).
    assert 0.019 < fc1.weight.std() < 0.021 and fc1.weight.mean().abs() < 1e-3
    dwconv = neck.merge_blocks[0].mlp.dwconv  # Conv2d 1024 -> 1024, 3x3, depth-wise
    bound = (6 / (9 * 1 + 9 * 1024))**0.5  # Xavier with PyTorch's fans: 3 * 3 * (1, 1024)
    assert dwconv.weight.abs().max() <= bound and dwconv.weight.abs().max() > 0.9 * bound
    assert torch.equal(dwconv.bias, torch.zeros_like(dwconv.bias))


def released_classification_file(model, path):
    """The original repository's layout: backbone keys at the top level, head, training
    state; fp32 as released."""
    state = {k: v.float().clone() for k, v in to_released_names(model.state_dict()).items()}
    state['head.weight'] = torch.randn(1000, 512)
    state['head.bias'] = torch.randn(1000)
    torch.save(dict(model=state, optimizer={}, lr_scheduler={}, epoch=299, scaler={}), path)
    return state


def test_released_classification_checkpoint(tmp_path):
    source = trained_like_backbone('v1-light', seed=2)
    released = released_classification_file(source, tmp_path / 'tcformer_light.pth')
    model = TCFormer(arch='v1-light',
                     init_cfg=dict(type='Pretrained',
                                   checkpoint=str(tmp_path / 'tcformer_light.pth')))
    model.init_weights()
    model.eval().double()
    sd = {k: v.double() for k, v in released.items()}
    img = images((64, 96), seed=2)
    with torch.no_grad():
        rows = compare_stages(model(img), reference_model.backbone(sd, img))
        logits = reference_model.classifier(sd, img)
    assert all(r.share_off == 0 and r.worst < 1e-9 for r in rows), rows
    assert logits.shape == (2, 1000)


@pytest.mark.parametrize('port', [False, True], ids=['original-release', 'mmpose0.x-port'])
def test_released_whole_body_checkpoint(port):
    """A whole-body file in the mmpose 0.x layout, converted on load, gives the heatmaps of
    the released computation."""
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(WHOLE_BODY))
    cfg.model.backbone.init_cfg = None  # no ImageNet checkpoint here
    torch.manual_seed(3)
    source = MODELS.build(cfg.model)
    source.init_weights()
    trained_like_(source, seed=3)
    released = {}
    for key, value in to_released_names(source.state_dict(), 'backbone.').items():
        if key.startswith('head.'):
            key = 'keypoint_head.' + key[len('head.'):]
        if port:
            key = key.replace('backbone.patch_embed1.proj.', 'backbone.patch_embed1.projection.')
        released[key] = value.float().clone()
    model = MODELS.build(cfg.model)
    model.load_state_dict(tcformer_pose_convert({'state_dict': released}), strict=True)
    model.eval().double()
    img = images((64, 48), seed=3)
    with torch.no_grad():
        ours = model.head(model.extract_feat(img))
        ref = reference_model.whole_body_heatmaps({k: v.double() for k, v in released.items()}, img)
    assert ours.shape == ref.shape == (2, 133, 16, 12)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
