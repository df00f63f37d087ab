"""Joint conventions of SPIN (Kolotouros et al., ICCV 2019), which the preprocessed annotation
files of SPIN and mmhuman3d follow.

The ``part`` (2D) and ``S`` (3D) arrays of those files hold 24 "ground-truth" joints, the last
24 of SPIN's 49-joint set (its first 25 are OpenPose detections, which this project does not
train on). The mesh gives them through smplx's SMPL joints (24 kinematic joints, then the face
and foot vertices of ``smplx.vertex_ids['smplh']``) and 9 joints of ``J_regressor_extra.npy``.
"""

#: The 24 ground-truth joints of SPIN's preprocessed files (``part``, ``S``), in file order.
J24_NAMES = ('right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle',
             'right_wrist', 'right_elbow', 'right_shoulder', 'left_shoulder', 'left_elbow',
             'left_wrist', 'neck_lsp', 'head_top_lsp', 'pelvis_mpii', 'thorax_mpii', 'spine_h36m',
             'jaw_h36m', 'head_h36m', 'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear')

#: Index of each J24 joint in ``cat(smplx SMPL joints (45), J_regressor_extra joints (9))``.
#: 0-23 are SMPL's kinematic joints, 24-28 smplx's nose / right eye / left eye / right ear /
#: left ear vertices, 45-53 the rows of ``J_regressor_extra.npy`` (SPIN ``JOINT_MAP``).
J24_FROM_SMPL_AND_EXTRA = (8, 5, 45, 46, 4, 7, 21, 19, 17, 16, 18, 20, 47, 48, 49, 50, 51, 52, 53,
                           24, 26, 25, 28, 27)

#: Rows of ``J_regressor_extra.npy`` (9 x 6890).
NUM_EXTRA_JOINTS = 9

#: The 17 joints of the Human3.6M regressor ``J_regressor_h36m.npy`` (17 x 6890).
H36M_NAMES = ('pelvis', 'left_hip', 'left_knee', 'left_ankle', 'right_hip', 'right_knee',
              'right_ankle', 'spine', 'thorax', 'neck', 'head_top', 'left_shoulder', 'left_elbow',
              'left_wrist', 'right_shoulder', 'right_elbow', 'right_wrist')

#: The 14 LSP joints (the evaluation joints of 3DPW and Human3.6M Protocol 2) from the 17
#: Human3.6M-regressor joints, and from the 24 ground-truth joints.
H36M_TO_J14 = (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10)
J24_TO_J14 = tuple(range(14))

#: Left/right swap of the 24 SMPL joints (pose parameters) and of the 24 ground-truth joints.
SMPL_JOINTS_FLIP_PERM = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21,
                         20, 23, 22)
J24_FLIP_PERM = (5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 12, 13, 14, 15, 16, 17, 18, 19, 21, 20, 23,
                 22)

#: Pelvis of the 24 ground-truth joints for 3D alignment: the middle of the hips (SPIN).
J24_HIPS = (2, 3)

#: SMPL's kinematic tree: parent of each of the 24 joints (-1: root).
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
NUM_SMPL_JOINTS = 24
NUM_SMPL_VERTICES = 6890
NUM_SMPL_FACES = 13776
NUM_BETAS = 10

#: Limbs of the 24 ground-truth joints (pairs of J24 indices) for drawing.
J24_LIMBS = ((0, 1), (1, 2), (5, 4), (4, 3), (2, 14), (3, 14), (14, 16), (16, 15), (15, 12),
             (12, 17), (17, 18), (18, 13), (6, 7), (7, 8), (8, 15), (11, 10), (10, 9), (9, 15))
