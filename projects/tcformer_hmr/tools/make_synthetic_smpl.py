"""Write a synthetic SMPL model and the files around it, for tests and the tiny dataset.

The SMPL model is licensed (https://smpl.is.tue.mpg.de), so tests cannot use it. This writes
files of the same format and shapes that smplx's own loading code reads:

* ``SMPL_NEUTRAL.pkl``: 6890 vertices on tubes around the bones of a stick figure in SMPL's
  T-pose (joint positions close to SMPL's template), 13776 faces, SMPL's kinematic tree,
  rigid skinning weights (each tube moves with the joint it starts at), 10 shape components
  (size, girth, then smooth fields) and small pose correctives;
* ``J_regressor_extra.npy`` (9 x 6890) and ``J_regressor_h36m.npy`` (17 x 6890): averages of
  vertex rings at the joints they name;
* ``smpl_mean_params.npz``: SPIN's keys ``pose`` (24 x 6D), ``shape`` (10), ``cam`` (3), the
  centre of the tiny dataset's pose distribution.

Usage: ``python projects/tcformer_hmr/tools/make_synthetic_smpl.py --out DIR``
"""
import argparse
import os
import os.path as osp
import pickle
import sys

import numpy as np

NUM_VERTS, NUM_FACES, RING = 6890, 13776, 12
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
# SMPL's neutral template joints (meters, T-pose, y up, facing +z), rounded.
JOINTS = np.array([[0.00, -0.22, 0.03], [0.07, -0.31, 0.02], [-0.07, -0.31, 0.02],
                   [0.00, -0.10, 0.02], [0.10, -0.68, 0.02],
                   [-0.10, -0.67, 0.02], [0.01, 0.03, 0.03], [0.09, -1.07, -0.01],
                   [-0.09, -1.07, -0.01], [0.00, 0.09, 0.04], [0.11, -1.13, 0.10],
                   [-0.11, -1.13, 0.11], [0.00, 0.30, 0.01], [0.08, 0.21,
                                                              0.03], [-0.08, 0.21, 0.02],
                   [0.00, 0.37, 0.05], [0.17, 0.24, 0.01], [-0.17, 0.24, 0.02], [0.43, 0.23, -0.02],
                   [-0.43, 0.23, -0.02], [0.68, 0.24, -0.02], [-0.69, 0.24, -0.03],
                   [0.76, 0.24, -0.04], [-0.77, 0.23, -0.04]])
# Tubes past the leaves of the tree: head, feet (forward), hands (outward).
LEAF_TIPS = {
    15: (0.0, 0.20, 0.0),
    10: (0.0, -0.02, 0.08),
    11: (0.0, -0.02, 0.08),
    22: (0.08, 0.0, 0.0),
    23: (-0.08, 0.0, 0.0)
}
RADII = {
    0: 0.11,
    3: 0.12,
    6: 0.13,
    9: 0.13,
    12: 0.06,
    13: 0.07,
    14: 0.07,
    15: 0.09,
    1: 0.08,
    2: 0.08,
    4: 0.06,
    5: 0.06,
    7: 0.045,
    8: 0.045,
    10: 0.04,
    11: 0.04,
    16: 0.05,
    17: 0.05,
    18: 0.04,
    19: 0.04,
    20: 0.035,
    21: 0.035,
    22: 0.03,
    23: 0.03
}
# smplx's face vertices (vertex_ids['smplh']): nose, right eye, left eye, right ear, left ear;
# placed on the head tube (angles around it, 0 = facing +z, positive towards -x, the figure's
# right) so those joints land on the head.
FACE_VERTICES = {332: 0.0, 6260: 0.35, 2800: -0.35, 4071: np.pi / 2, 583: -np.pi / 2}


def _tubes():
    """Segments (joint, start, end): every bone, skinned to its parent joint, and leaf tips."""
    segs = [(PARENTS[c], JOINTS[PARENTS[c]], JOINTS[c]) for c in range(1, 24)]
    segs += [(j, JOINTS[j], JOINTS[j] + np.array(tip)) for j, tip in LEAF_TIPS.items()]
    return segs


def _frame(axis):
    axis = axis / np.linalg.norm(axis)
    helper = np.array([0., 0., 1.]) if abs(axis[2]) < 0.9 else np.array([1., 0., 0.])
    u = np.cross(helper, axis)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def build_mesh():
    """Template, faces, skinning joint of each vertex, radial offsets and rings."""
    segs = _tubes()
    rings_per_seg = (NUM_VERTS // RING) // len(segs)
    verts, owner, radial, faces, rings = [], [], [], [], {}
    angles = np.linspace(0, 2 * np.pi, RING, endpoint=False)
    for s, (joint, start, end) in enumerate(segs):
        u, v = _frame(end - start)
        radius = RADII[joint]
        for r in range(rings_per_seg):
            centre = start + (end - start) * r / (rings_per_seg - 1)
            ring_idx = list(range(len(verts), len(verts) + RING))
            rings[(s, r)] = ring_idx
            for a in angles:
                # Angle 0 points to +z (u is helper x axis), where the figure faces.
                offset = radius * (np.sin(a) * u + np.cos(a) * v)
                verts.append(centre + offset)
                radial.append(offset)
                owner.append(joint)
            if r > 0:
                prev = rings[(s, r - 1)]
                for k in range(RING):
                    a0, a1 = prev[k], prev[(k + 1) % RING]
                    b0, b1 = ring_idx[k], ring_idx[(k + 1) % RING]
                    faces += [(a0, b0, a1), (a1, b0, b1)]
    # The remaining vertices close the top of the head.
    head_top = rings[(len(segs) - len(LEAF_TIPS), rings_per_seg - 1)]
    top_centre = np.mean([verts[i] for i in head_top], axis=0)
    while len(verts) < NUM_VERTS:
        verts.append(top_centre)
        radial.append(np.zeros(3))
        owner.append(15)
    faces = (faces * (NUM_FACES // len(faces) + 1))[:NUM_FACES]
    return (np.array(verts), np.array(faces, dtype=np.int64), np.array(owner), np.array(radial),
            rings, segs, rings_per_seg)


def _ring_of(segs, rings, joint, position):
    """The ring of the first tube that starts at ``joint``, at ``position`` in [0, 1]."""
    s = next(i for i, seg in enumerate(segs) if seg[0] == joint)
    last = max(r for (si, r) in rings if si == s)
    return rings[(s, int(round(position * last)))]


def _regressor(rows, num_verts):
    reg = np.zeros((len(rows), num_verts), np.float32)
    for j, idx in enumerate(rows):
        idx = [i for ring in idx for i in ring]
        reg[j, idx] = 1.0 / len(idx)
    return reg


def _bone_ring(segs, rings, parent, child, position):
    s = next(i for i, seg in enumerate(segs)
             if seg[0] == parent and np.allclose(seg[2], JOINTS[child]))
    last = max(r for (si, r) in rings if si == s)
    return rings[(s, int(round(position * last)))]


def write_synthetic_smpl(out_dir, seed=0):
    """Write the four files into ``out_dir`` and return their paths."""
    rng = np.random.default_rng(seed)
    verts, faces, owner, radial, rings, segs, _ = build_mesh()
    # Reorder the vertices so smplx's face-keypoint vertices lie on the front/side of the head.
    head_seg = len(segs) - len(LEAF_TIPS)
    order = np.arange(NUM_VERTS)
    head_ring = rings[(head_seg, 4)]
    for target, angle in FACE_VERTICES.items():
        src = head_ring[int(round((angle % (2 * np.pi)) / (2 * np.pi) * RING)) % RING]
        pos = int(np.where(order == src)[0][0])
        order[target], order[pos] = order[pos], order[target]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(NUM_VERTS)
    verts, owner, radial = verts[order], owner[order], radial[order]
    faces = inverse[faces]
    rings = {k: [int(inverse[i]) for i in v] for k, v in rings.items()}

    weights = np.zeros((NUM_VERTS, 24))
    weights[np.arange(NUM_VERTS), owner] = 1.0
    j_reg = _regressor([[_ring_of(segs, rings, j, 0.0)] for j in range(24)], NUM_VERTS)
    pelvis_rel = verts - JOINTS[0]
    shapedirs = np.zeros((NUM_VERTS, 3, 10))
    shapedirs[:, :, 0] = 0.06 * pelvis_rel  # overall size
    shapedirs[:, :, 1] = 0.15 * radial  # girth
    for k in range(2, 10):  # smooth, small fields of the position
        shapedirs[:, :, k] = 0.01 * np.tanh(pelvis_rel @ rng.normal(size=(3, 3)))
    posedirs = 1e-3 * np.tanh(verts @ rng.normal(size=(3, 3 * 207))).reshape(NUM_VERTS, 3, 207)
    kintree = np.array([[4294967295] + list(PARENTS[1:]), list(range(24))], dtype=np.int64)
    model = dict(v_template=verts,
                 f=faces.astype(np.uint32),
                 weights=weights,
                 J_regressor=j_reg,
                 kintree_table=kintree,
                 shapedirs=shapedirs,
                 posedirs=posedirs)

    top = max(r for (si, r) in rings if si == head_seg)
    head_top = [rings[(head_seg, top)]]
    extra = _regressor(
        [
            [_bone_ring(segs, rings, 0, 2, 0.9)],  # right hip
            [_bone_ring(segs, rings, 0, 1, 0.9)],  # left hip
            [_bone_ring(segs, rings, 9, 12, 0.8)],  # neck (LSP)
            head_top,  # top of head (LSP)
            [_bone_ring(segs, rings, 0, 3, 0.0)],  # pelvis (MPII)
            [_bone_ring(segs, rings, 9, 12, 0.3)],  # thorax (MPII)
            [_bone_ring(segs, rings, 3, 6, 0.5)],  # spine (H36M)
            [rings[(head_seg, 2)]],  # jaw (H36M)
            [rings[(head_seg, 6)]],  # head (H36M)
        ],
        NUM_VERTS)
    h36m = _regressor(
        [
            [_bone_ring(segs, rings, 0, 3, 0.0)],  # pelvis
            [_bone_ring(segs, rings, 0, 1, 0.9)],
            [_ring_of(segs, rings, 4, 0.0)],
            [_ring_of(segs, rings, 7, 0.0)],  # left leg
            [_bone_ring(segs, rings, 0, 2, 0.9)],
            [_ring_of(segs, rings, 5, 0.0)],
            [_ring_of(segs, rings, 8, 0.0)],  # right leg
            [_bone_ring(segs, rings, 3, 6, 0.5)],
            [_bone_ring(segs, rings, 9, 12, 0.3)],
            [_bone_ring(segs, rings, 9, 12, 0.8)],
            head_top,  # spine, thorax, neck, head top
            [_ring_of(segs, rings, 16, 0.0)],
            [_ring_of(segs, rings, 18, 0.0)],
            [_ring_of(segs, rings, 20, 0.0)],  # left arm
            [_ring_of(segs, rings, 17, 0.0)],
            [_ring_of(segs, rings, 19, 0.0)],
            [_ring_of(segs, rings, 21, 0.0)],  # right arm
        ],
        NUM_VERTS)
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(smpl=osp.join(out_dir, 'SMPL_NEUTRAL.pkl'),
                 extra=osp.join(out_dir, 'J_regressor_extra.npy'),
                 h36m=osp.join(out_dir, 'J_regressor_h36m.npy'),
                 mean_params=osp.join(out_dir, 'smpl_mean_params.npz'))
    with open(paths['smpl'], 'wb') as f:
        pickle.dump(model, f, protocol=2)
    np.save(paths['extra'], extra)
    np.save(paths['h36m'], h36m)
    np.savez(paths['mean_params'], **mean_params())
    return paths


def mean_pose_axis_angle():
    """(24, 3) axis-angle: upright in camera coordinates (y down, the root turned by pi about
    x as in SPIN's data), arms lowered by 60 degrees (the tiny dataset's mean pose)."""
    pose = np.zeros((24, 3))
    pose[0] = (np.pi, 0., 0.)
    pose[16] = (0., 0., -np.pi / 3)  # left shoulder
    pose[17] = (0., 0., np.pi / 3)  # right shoulder
    return pose


def axis_angle_to_matrix(aa):
    """Rodrigues' formula for (N, 3) axis-angle vectors -> (N, 3, 3)."""
    aa = np.asarray(aa, dtype=np.float64).reshape(-1, 3)
    theta = np.linalg.norm(aa, axis=1, keepdims=True)
    axis = aa / np.maximum(theta, 1e-12)
    x, y, z = axis.T
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=1).reshape(-1, 3, 3)
    theta = theta[:, :, None]
    return np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * (k @ k)


def mean_params():
    """SPIN's ``smpl_mean_params.npz`` keys for :func:`mean_pose_axis_angle`."""
    rotmat = axis_angle_to_matrix(mean_pose_axis_angle())
    # 6D rotation representation (Zhou et al. 2019): the first two columns, row-major.
    return dict(pose=rotmat[:, :, :2].reshape(-1).astype(np.float64),
                shape=np.zeros(10, np.float64),
                cam=np.array([0.9, 0., 0.]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/body_models/synthetic', help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    for name, path in write_synthetic_smpl(args.out, args.seed).items():
        print(f'{name}: {path}')


if __name__ == '__main__':
    # The repository root, for the launcher's one-line errors (an unwritable --out).
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))
    from tcformer_mm.utils.launch import run_cli
    run_cli(main, 'make_synthetic_smpl.py')
