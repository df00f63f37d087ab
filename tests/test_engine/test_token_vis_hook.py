"""TokenVisHook: token pictures reach the visualizer during validation."""

import mmcv
from conftest import ROOT, data_root_options
from mmengine.config import Config

TINY_CONFIG = 'configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py'


def test_hook_adds_pictures_during_validation(tiny_data, tmp_path):
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(ROOT / TINY_CONFIG))
    cfg.merge_from_dict(dict(a.split('=', 1) for a in data_root_options(tiny_data / 'imagenet')))
    cfg.work_dir = str(tmp_path)
    cfg.custom_hooks = [dict(type='TokenVisHook', num_images=2)]
    cfg.val_dataloader.num_workers = 0
    cfg.val_dataloader.persistent_workers = False
    runner = Runner.from_cfg(cfg)
    runner.val()
    files = sorted(p.name for p in tmp_path.glob('*/vis_data/vis_image/*.png'))
    assert files == ['token_vis_0_0.png', 'token_vis_1_0.png']
    picture = mmcv.imread(str(next(tmp_path.glob('*/vis_data/vis_image/token_vis_1_0.png'))))
    # 96x96 input, 4 stages and the density, 4-pixel gaps.
    assert picture.shape == (96, 6 * 96 + 5 * 4, 3)
    # The first panel is the de-normalised input: a generated image, not a flat one.
    assert picture[:, :64].std() > 10
    assert runner.model.backbone.out_indices == (3, )
