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


def test_demo_tool_names_a_missing_smpl_file(tmp_path):
    """A missing SMPL model file ends the demo with one line naming it, exit status 2, no
    traceback (``tcformer_mm.utils.launch.run_cli``)."""
    files = synthetic_files(tmp_path)
    missing = tmp_path / 'nowhere' / 'SMPL_NEUTRAL.pkl'
    result = run_tool([
        'projects/tcformer_hmr/tools/demo.py', TINY_CONFIG, 'none',
        str(tmp_path / 'image.png'), '--cfg-options', f'model.body_model.model_path={missing}',
        f'model.body_model.joint_regressor_extra={files["extra"]}',
        f'model.body_model.joint_regressor_h36m={files["h36m"]}',
        f'model.head.mean_params={files["mean_params"]}'
    ],
                      check=False)
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f'demo.py: error: {missing} not found: expected the SMPL body model')


def test_demo_refuses_a_checkpoint_that_runs_code(tmp_path):
    """The demo loads its checkpoint with mmengine's ``load_checkpoint``, which tcformer_mm
    makes refuse a pickle that would run a command."""
    from helpers.checkpoints import write_evil
    data = tmp_path / 'mesh'
    load_tool('make_tiny_mesh_data').generate(str(data), num_train=2, num_val=1)
    evil, marker = tmp_path / 'evil.pth', tmp_path / 'marker'
    write_evil(evil, marker)
    result = run_tool([
        'projects/tcformer_hmr/tools/demo.py', TINY_CONFIG,
        str(evil),
        str(data / 'images' / 'val_0000.png'), '--out',
        str(tmp_path / 'demo.png'), '--cfg-options', *tiny_options(data)
    ],
                      timeout=300,
                      check=False)
    assert result.returncode == 2, result.stderr[-3000:]
    assert not marker.exists()
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f'demo.py: error: {evil} holds Python objects of posix.system')
