"""tools/visualization/vis_tokens.py on a real photo: pictures, token regions, bad inputs."""

import mmcv
import numpy as np
import pytest
import skimage.data
import torch
from conftest import ROOT, load_script, run_tool
from mmengine.config import Config

from tcformer_mm.models import TCFormer
from tcformer_mm.visualization import (draw_token_regions, stage_tokens, token_density,
                                       token_pictures)

CLS_CONFIG = 'configs/classification/tcformer/tcformerv2-tiny_8xb128_in1k.py'
TINY_CONFIG = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'


@pytest.fixture(scope='module')
def astronaut(tmp_path_factory):
    """scikit-image's astronaut photo (512x512 RGB) as a file."""
    path = tmp_path_factory.mktemp('photo') / 'astronaut.png'
    mmcv.imwrite(skimage.data.astronaut()[..., ::-1], str(path))
    return path


def test_tool_writes_pngs_for_a_photo(astronaut, tmp_path):
    result = run_tool([
        'tools/visualization/vis_tokens.py', CLS_CONFIG,
        str(astronaut), '--out-dir',
        str(tmp_path)
    ])
    # The ImageNet test pipeline: short edge to 248, centre crop 224; tokens halve in number
    # at every CTM (3136 -> 784 -> 196 -> 49, a quarter each).
    assert 'input 224x224; tokens per stage: [3136, 784, 196, 49]' in result.stdout
    for i in range(1, 5):
        picture = mmcv.imread(str(tmp_path / f'stage{i}_tokens.png'))
        assert picture.shape == (224, 224, 3)
    assert mmcv.imread(str(tmp_path / 'density.png')).shape == (224, 224, 3)
    # Input, four stages and the density, with 4-pixel gaps between them.
    assert mmcv.imread(str(tmp_path / 'summary.png')).shape == (224, 6 * 224 + 5 * 4, 3)


def test_bad_inputs_are_named(astronaut, tmp_path):
    tool = load_script('tools/visualization/vis_tokens.py')
    cfg = Config.fromfile(str(ROOT / 'configs/tiny/resnet18_1xb16_tiny-cls.py'))
    with pytest.raises(TypeError, match='backbone is ResNet, not TCFormer'):
        tool.build_backbone(cfg)
    result = run_tool([
        'tools/visualization/vis_tokens.py', CLS_CONFIG,
        str(tmp_path / 'none.jpg'), '--out-dir',
        str(tmp_path)
    ],
                      check=False)
    assert result.returncode != 0
    assert f'image not found: {tmp_path / "none.jpg"}' in result.stderr.strip().splitlines()[-1]
    backbone = TCFormer(arch='v2-tiny')
    with pytest.raises(ValueError, match='is too small'):
        stage_tokens(backbone, torch.zeros(1, 3, 16, 16))
    with pytest.raises(TypeError, match='needs a TCFormer backbone'):
        stage_tokens(torch.nn.Conv2d(3, 3, 1), torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match='differ in size'):
        draw_token_regions(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.int64))


@pytest.mark.parametrize('arch,shape', [('v2-tiny', (160, 192)), ('v1-light', (118, 130))])
def test_token_regions_partition_the_photo(arch, shape):
    tool = load_script('tools/visualization/vis_tokens.py')
    cfg = Config.fromfile(str(ROOT / CLS_CONFIG))
    cfg.model.backbone.arch = arch
    torch.manual_seed(0)
    backbone = tool.build_backbone(cfg)
    image = tool.resize_to_test_size(skimage.data.astronaut(), cfg, shape)
    assert image.shape == (*shape, 3)
    tokens = stage_tokens(backbone, tool.model_inputs(image, cfg))
    # stage_tokens restores the backbone's own settings.
    assert backbone.out_indices == (0, 1, 2, 3) and backbone.output_format == 'tokens'
    pictures = token_pictures(image, tokens, border_color=None)
    grid = ((shape[0] - 1) // 4 + 1, (shape[1] - 1) // 4 + 1)
    assert tokens[0].num_tokens == grid[0] * grid[1]
    for stage, (t, labels, region) in enumerate(zip(tokens, pictures['labels'],
                                                    pictures['regions'])):
        # Every pixel has exactly one token and every token has pixels: the regions are a
        # partition of the image into N_stage parts.
        assert labels.shape == shape
        np.testing.assert_array_equal(np.unique(labels), np.arange(t.num_tokens))
        if stage > 0:
            assert t.num_tokens < tokens[stage - 1].num_tokens
        # Each region is painted in its mean colour.
        for token in (0, t.num_tokens // 2, t.num_tokens - 1):
            mask = labels == token
            mean = image[mask].astype(np.float64).mean(0)
            np.testing.assert_allclose(region[mask],
                                       np.broadcast_to(mean, region[mask].shape),
                                       atol=0.5)
        # Relative density averages to 1 over the image (sum of 1/area over a region is 1).
        assert token_density(labels, t.num_tokens).mean() == pytest.approx(1.0)
    # Clustered tokens are not a uniform grid: their sizes differ.
    assert token_density(pictures['labels'][2]).std() > 0.1
