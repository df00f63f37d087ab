import cv2
import numpy as np
from conftest import run_tool

from projects.tcformer_hmr.tcformer_hmr.mesh_visualization import draw_mesh, project_to_image
from .synthetic import build_body_model, load_tool, synthetic_files
from .test_tiny_training import TINY_CONFIG, tiny_options


def test_projection_inverts_the_crop():
    warp = np.array([[0.5, 0., -10.], [0., 0.5, -20.]])  # image -> crop
    pts = project_to_image(np.array([[0., 0., 0.], [1., 1., 0.]]), np.array([1., 0., 0.]), warp,
                           (96, 96))
    # Crop centre (48, 48) and corner (96, 96) back in the image.
    np.testing.assert_allclose(pts, [[116., 136.], [212., 232.]])


def test_draw_mesh_covers_the_body(tmp_path):
    import torch
    model = build_body_model(synthetic_files(tmp_path))
    rot = torch.eye(3).expand(1, 24, 3, 3).clone()
    rot[0, 0] = torch.diag(torch.tensor([1., -1., -1.]))
    out = model(betas=torch.zeros(1, 10), body_pose=rot[:, 1:], global_orient=rot[:, :1])
    img = np.zeros((100, 100, 3), np.uint8)
    drawn = draw_mesh(img, out['vertices'][0].numpy(), model.faces, np.array([0.9, 0., 0.3]),
                      np.array([[1., 0., 0.], [0., 1., 0.]]), (100, 100))
    covered = drawn.sum(-1) > 0
    assert 0.05 < covered.mean() < 0.6
    # Upright: the head (top rows) and the feet (bottom rows) are drawn, the corners are not.
    assert covered[:30].any() and covered[70:].any() and not covered[:10, :10].any()


def test_demo_tool_writes_an_image(tmp_path):
    data = tmp_path / 'mesh'
    load_tool('make_tiny_mesh_data').generate(str(data), num_train=2, num_val=1)
    out = tmp_path / 'demo.png'
    run_tool([
        'projects/tcformer_hmr/tools/demo.py', TINY_CONFIG, 'none',
        str(data / 'images' / 'val_0000.png'), '--out',
        str(out), '--cfg-options', *tiny_options(data)
    ],
             timeout=300)
    img = cv2.imread(str(out))
    src = cv2.imread(str(data / 'images' / 'val_0000.png'))
    assert img.shape == src.shape
    assert (np.abs(img.astype(int) - src).sum(-1) > 0).mean() > 0.02
