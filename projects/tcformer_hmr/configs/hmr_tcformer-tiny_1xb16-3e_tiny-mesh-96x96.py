# CPU-sized counterpart of hmr_tcformer_8xb32-80e_mixed-3dpw-224x224.py on the tiny synthetic
# mesh set of projects/tcformer_hmr/tools/make_tiny_mesh_data.py (512 training / 32 validation
# images of a synthetic SMPL model, 128x128), for tests: a small TCFormerV1 (global clustering,
# one block per stage, half the widths) from scratch, 96x96 crops, no augmentation, the same
# head and losses, Human3.6M-style evaluation on the annotated 3D joints.
_base_ = ['./hmr_tcformer_8xb32-80e_mixed-3dpw-224x224.py']

data_root = 'data/tiny/mesh/'
body_model_root = data_root + 'body_models/'
smpl_body_model = dict(type='SMPLBodyModel',
                       model_path=body_model_root + 'SMPL_NEUTRAL.pkl',
                       joint_regressor_extra=body_model_root + 'J_regressor_extra.npy',
                       joint_regressor_h36m=body_model_root + 'J_regressor_h36m.npy')
model = dict(backbone=dict(arch=dict(_delete_=True,
                                     embed_dims=[32, 64, 128, 256],
                                     depths=[1, 1, 1, 1],
                                     num_heads=[1, 2, 4, 8],
                                     mlp_ratios=[4, 4, 4, 4],
                                     sr_ratios=[8, 4, 2, 1],
                                     num_parts=[1, 1, 1]),
                           drop_path_rate=0.,
                           init_cfg=None),
             head=dict(in_channels=256,
                       hidden_dims=512,
                       dropout=0.,
                       mean_params=body_model_root + 'smpl_mean_params.npz'),
             body_model=smpl_body_model)

input_size = (96, 96)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='MeshTopdownAffine', input_size=input_size),
    dict(type='PackMeshInputs')
]
test_pipeline = train_pipeline
train_dataloader = dict(_delete_=True,
                        batch_size=16,
                        num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='MeshDataset',
                                     data_root=data_root,
                                     ann_file='train.npz',
                                     data_prefix=dict(img='images/'),
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=32,
                      num_workers=0,
                      persistent_workers=False,
                      dataset=dict(data_root=data_root,
                                   ann_file='val.npz',
                                   data_prefix=dict(img='images/'),
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='MeshMetric', gt_source='keypoints_3d')
test_evaluator = val_evaluator

max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=4),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
randomness = dict(seed=0)
