"""Draw the mesh a model predicts for the person in an image.

Usage (from the repository root)::

    python projects/tcformer_hmr/tools/demo.py CONFIG CHECKPOINT IMAGE \
        [--center X Y --scale S] [--out OUT.png]

The person box is ``--center`` / ``--scale`` (box size / 200, SPIN's convention); by default
the whole image. Without a checkpoint (``none``) the model keeps its initial weights. A missing
file (config, checkpoint, image, SMPL model files) or a bad value ends the program with one line
``demo.py: error: ...`` and exit status 2 (``TCFORMER_TRACEBACK=1`` shows the traceback).
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tcformer_mm.utils import launch  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Draw the predicted SMPL mesh over an image')
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    parser.add_argument('image')
    parser.add_argument('--center', type=float, nargs=2, metavar=('X', 'Y'))
    parser.add_argument('--scale', type=float, help='box size / 200')
    parser.add_argument('--out', default='mesh_demo.png')
    launch.add_cfg_options_argument(parser)
    launch.add_trust_argument(parser)
    args = parser.parse_args()
    launch.apply_trust(args)
    return args


def main():
    args = parse_args()
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import import_modules_from_strings

    cfg = launch.load_config(args.config, args.cfg_options)
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.default_scope)
    from mmpose.registry import MODELS

    cfg.model.test_cfg = dict(output_vertices=True)
    # The demo has no pretrained backbone weights to read.
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    if args.checkpoint.lower() != 'none':
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.eval()

    img = cv2.imread(args.image)
    if img is None:
        raise FileNotFoundError(f'cannot read the image {args.image}')
    h, w = img.shape[:2]
    center = np.array(args.center if args.center else [w / 2, h / 2], np.float32)
    scale = args.scale if args.scale else max(w, h) / 200
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    data = pipeline(
        dict(img_path=args.image,
             center=center,
             scale=scale,
             keypoints_2d=np.zeros((24, 3), np.float32),
             keypoints_3d=np.zeros((24, 4), np.float32),
             pose=np.zeros(72, np.float32),
             betas=np.zeros(10, np.float32),
             has_smpl=0.,
             has_keypoints_3d=0.))
    with torch.no_grad():
        sample = model.test_step(dict(inputs=[data['inputs']],
                                      data_samples=[data['data_samples']]))[0]

    from projects.tcformer_hmr.tcformer_hmr.mesh_visualization import draw_mesh
    out = draw_mesh(img, sample.pred_vertices.numpy(), model.body_model.faces,
                    sample.pred_cam.numpy(), sample.metainfo['warp_mat'],
                    sample.metainfo['input_size'])
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    cv2.imwrite(args.out, out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    launch.run_cli(main, 'demo.py')
