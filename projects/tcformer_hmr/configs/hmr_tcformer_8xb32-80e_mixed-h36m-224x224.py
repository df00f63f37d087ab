# TCFormer + HMR head, CVPR 2022 Table 2 "TCFormer (Ours)", Human3.6M columns (paper:
# PA-MPJPE 42.8, MPJPE 62.9 mm on Protocol 2: subjects S9 and S11, frontal camera). The model
# and training are those of the 3DPW config (one model gives both columns); validation and
# testing use SPIN's Protocol 2 file, whose 3D joints are the ground truth.
_base_ = ['./hmr_tcformer_8xb32-80e_mixed-3dpw-224x224.py']

val_dataloader = dict(
    dataset=dict(ann_file='h36m_valid_protocol2.npz', data_prefix=dict(img='h36m/')))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='MeshMetric', gt_source='keypoints_3d', prefix='h36m')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='h36m/PA-MPJPE'))
