"""Generate a tiny mesh-recovery dataset from the synthetic SMPL model.

Random poses (arms, legs, spine and a turn of the body around its vertical axis about the
synthetic mean pose), shapes and weak-perspective cameras pose the synthetic SMPL model of
``make_synthetic_smpl.py``; each image draws the projected limbs of the 24 ground-truth joints
in distinct colours (left and right differ; brighter is nearer) on a noisy background, so a
network can see the pose. Annotations follow SPIN's ``.npz`` format (``imgname``, ``center``,
``scale``, ``part``, ``S``, ``pose``, ``shape``, ``has_smpl``, ``gender``).

Layout of ``--out``::

    body_models/  SMPL_NEUTRAL.pkl, J_regressor_extra.npy, J_regressor_h36m.npy,
                  smpl_mean_params.npz
    images/       train_0000.png ... val_0000.png ...
    train.npz, val.npz

Usage: ``python projects/tcformer_hmr/tools/make_tiny_mesh_data.py --out data/tiny/mesh``
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys

import cv2
import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(osp.dirname(HERE)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from projects.tcformer_hmr.tcformer_hmr.body_model import SMPLBodyModel  # noqa: E402
from projects.tcformer_hmr.tcformer_hmr.constants import J24_LIMBS  # noqa: E402
from tcformer_mm.utils.launch import run_cli  # noqa: E402


def _load_synthetic_smpl():
    spec = importlib.util.spec_from_file_location('make_synthetic_smpl',
                                                  osp.join(HERE, 'make_synthetic_smpl.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# (joint, axis, spread in radians) of the pose variation around the mean pose.
POSE_SPREAD = ((16, 2, 0.9), (17, 2, 0.9), (16, 1, 0.5), (17, 1, 0.5), (18, 1, 1.0), (19, 1, 1.0),
               (1, 0, 0.6), (2, 0, 0.6), (1, 2, 0.3), (2, 2, 0.3), (4, 0, 0.8), (5, 0, 0.8),
               (3, 0, 0.15), (6, 0, 0.15), (9, 2, 0.15), (15, 0, 0.3))
#: Limb colours (BGR): right side red-ish, left side blue-ish, torso and head green / yellow.
LIMB_COLOURS = ((40, 40, 255), (40, 120, 255), (255, 60, 40), (255, 160, 40), (60, 200, 255),
                (255, 200, 60), (60, 255, 60), (60, 255, 60), (60, 255, 60), (60, 255, 255),
                (60, 255, 255), (60, 255, 255), (150, 60, 255), (120, 0, 200), (60, 255, 160),
                (255, 60, 200), (200, 0, 120), (160, 255, 60))
KNEES = (4, 5)  # SMPL knees bend only backwards


def sample_params(rng, mean_pose):
    """One random (pose (72, ), betas (10, )) about the mean pose."""
    pose = mean_pose.copy()
    for joint, axis, spread in POSE_SPREAD:
        value = rng.uniform(-spread, spread)
        if joint in KNEES:
            value = abs(value)
        pose[joint, axis] += value
    # Turn about the body's vertical axis (y in the camera frame, whose y points down).
    yaw = rng.uniform(-0.3, 0.3)
    root = cv2.Rodrigues(np.array([0., yaw, 0.]))[0] @ cv2.Rodrigues(pose[0])[0]
    pose[0] = cv2.Rodrigues(root)[0].reshape(3)
    betas = np.concatenate([rng.normal(0, 0.8, 2), rng.normal(0, 0.3, 8)])
    return pose.reshape(72), betas


def _background(rng, size):
    noise = rng.integers(0, 90, (size, size, 3)).astype(np.float32)
    blobs = cv2.resize(rng.integers(0, 120, (4, 4, 3)).astype(np.float32), (size, size))
    return np.clip(noise * 0.6 + blobs, 0, 255).astype(np.uint8)


def draw_person(img, kp2d, depth, thickness):
    """Draw the limbs of the 24 joints: nearer limbs are brighter and drawn last."""
    order = np.argsort([-(depth[a] + depth[b]) for a, b in J24_LIMBS])
    span = max(float(depth.max() - depth.min()), 1e-6)
    for i in order:
        a, b = J24_LIMBS[i]
        near = 1 - ((depth[a] + depth[b]) / 2 - depth.min()) / span
        colour = tuple(int(c * (0.55 + 0.45 * near)) for c in LIMB_COLOURS[i])
        pa = tuple(int(round(v)) for v in kp2d[a])
        pb = tuple(int(round(v)) for v in kp2d[b])
        cv2.line(img, pa, pb, colour, thickness, cv2.LINE_AA)
    head = tuple(int(round(v)) for v in kp2d[18])
    cv2.circle(img, head, thickness + 2, (200, 230, 255), -1, cv2.LINE_AA)
    return img


def generate(out, num_train=512, num_val=32, img_size=128, seed=0):
    """Write the dataset to ``out``; return the paths of the annotation files."""
    synth = _load_synthetic_smpl()
    files = synth.write_synthetic_smpl(osp.join(out, 'body_models'))
    model = SMPLBodyModel(files['smpl'], files['extra'], files['h36m']).eval()
    mean_pose = synth.mean_pose_axis_angle()
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out, 'images'), exist_ok=True)
    paths = {}
    for split, num in (('train', num_train), ('val', num_val)):
        params = [sample_params(rng, mean_pose) for _ in range(num)]
        pose = torch.tensor(np.stack([p for p, _ in params]), dtype=torch.float32)
        betas = torch.tensor(np.stack([b for _, b in params]), dtype=torch.float32)
        rot = torch.from_numpy(
            np.stack([cv2.Rodrigues(a.astype(np.float64))[0]
                      for a in pose.reshape(-1, 3).numpy()])).float().reshape(num, 24, 3, 3)
        with torch.no_grad():
            body = model(betas=betas, body_pose=rot[:, 1:], global_orient=rot[:, :1])
            h36m = torch.einsum('jv,bvc->bjc', model.joint_regressor_h36m, body['vertices'])
        joints = body['joints'].numpy()
        pelvis = h36m[:, :1].numpy()
        ann = dict(imgname=[], center=[], scale=[], part=[], S=[])
        for i in range(num):
            xy = joints[i, :, :2]
            lo, hi = xy.min(0), xy.max(0)
            # Weak perspective onto the image: the figure fills ~70% of it, shifted a little.
            s = img_size * rng.uniform(0.6, 0.75) / (hi - lo).max()
            shift = rng.uniform(-0.06, 0.06, 2) * img_size
            kp2d = (xy - (lo + hi) / 2) * s + img_size / 2 + shift
            img = draw_person(_background(rng, img_size), kp2d, joints[i, :, 2],
                              max(2, img_size // 40))
            name = f'{split}_{i:04d}.png'
            cv2.imwrite(osp.join(out, 'images', name), img)
            box_lo, box_hi = kp2d.min(0), kp2d.max(0)
            ann['imgname'].append(name)
            ann['center'].append((box_lo + box_hi) / 2)
            ann['scale'].append(1.2 * (box_hi - box_lo).max() / 200)
            ann['part'].append(np.concatenate([kp2d, np.ones((24, 1))], axis=1))
            ann['S'].append(np.concatenate([joints[i] - pelvis[i], np.ones((24, 1))], axis=1))
        paths[split] = osp.join(out, f'{split}.npz')
        np.savez(paths[split],
                 imgname=np.array(ann['imgname']),
                 center=np.array(ann['center'], np.float32),
                 scale=np.array(ann['scale'], np.float32),
                 part=np.array(ann['part'], np.float32),
                 S=np.array(ann['S'], np.float32),
                 pose=pose.numpy(),
                 shape=betas.numpy(),
                 has_smpl=np.ones(num, np.float32),
                 gender=np.array(['n'] * num))
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/tiny/mesh', help='output folder')
    parser.add_argument('--num-train', type=int, default=512)
    parser.add_argument('--num-val', type=int, default=32)
    parser.add_argument('--img-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    paths = generate(args.out, args.num_train, args.num_val, args.img_size, args.seed)
    print(f'wrote {args.num_train} train / {args.num_val} val samples: {paths}')


if __name__ == '__main__':
    run_cli(main, 'make_tiny_mesh_data.py')
