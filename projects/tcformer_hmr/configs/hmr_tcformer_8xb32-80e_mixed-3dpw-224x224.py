# TCFormer + HMR head, CVPR 2022 section 4.2, Table 2 "TCFormer (Ours)", 3DPW columns
# (paper: PA-MPJPE 49.3, MPJPE 80.6 mm on the 3DPW test set).
# The paper's recipe: TCFormer (V1) from ImageNet, the HMR head, 224x224 crops of the
# ground-truth box, random scaling / rotation / flipping / colour jitter, 8 GPUs x 32 images,
# 80 epochs, Adam at lr 2.5e-4 without decay, the mixed datasets of HMR / SPIN (Human3.6M,
# MPI-INF-3DHP, LSP, LSP-Extended, MPII, COCO) plus the 3DPW training set with EFT's
# pseudo-labels. The paper names no sampling ratios: SPIN's are used (30% Human3.6M, 10%
# MPI-INF-3DHP, 60% in-the-wild images split by set size).
default_scope = 'mmpose'
custom_imports = dict(imports=['tcformer_mm', 'projects.tcformer_hmr.tcformer_hmr'],
                      allow_failed_imports=False)

# SMPL and the files of SPIN's data (licensed / downloaded, see the project README).
body_model_root = 'data/body_models/'
smpl_body_model = dict(type='SMPLBodyModel',
                       model_path=body_model_root + 'smpl',
                       joint_regressor_extra=body_model_root + 'J_regressor_extra.npy',
                       joint_regressor_h36m=body_model_root + 'J_regressor_h36m.npy')
# The ImageNet-1k checkpoint of configs/classification/tcformer/tcformerv1_8xb128_in1k.py, where
# tools/train.py writes it (the released TCFormer checkpoint put there loads as well).
pretrained = 'work_dirs/tcformerv1_8xb128_in1k/epoch_300.pth'

model = dict(type='HMRMeshEstimator',
             data_preprocessor=dict(type='ImgDataPreprocessor',
                                    mean=[123.675, 116.28, 103.53],
                                    std=[58.395, 57.12, 57.375],
                                    bgr_to_rgb=True),
             backbone=dict(type='TCFormer',
                           arch='v1',
                           drop_path_rate=0.1,
                           out_indices=(3, ),
                           output_format='tokens',
                           init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
             neck=dict(type='TokenGlobalAveragePooling'),
             head=dict(type='HMRHead',
                       in_channels=512,
                       num_iters=3,
                       mean_params=body_model_root + 'smpl_mean_params.npz'),
             body_model=smpl_body_model,
             loss=dict(type='HMRLoss'))

# data: SPIN's preprocessed annotation files (data/dataset_extras of SPIN) under data/mesh/,
# each set's images under data/mesh/<set>/.
data_root = 'data/mesh/'
input_size = (224, 224)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomMeshAugment'),
    dict(type='MeshTopdownAffine', input_size=input_size),
    dict(type='PackMeshInputs')
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='MeshTopdownAffine', input_size=input_size),
    dict(type='PackMeshInputs')
]


def _mesh_set(ann_file, img_dir, pipeline, test_mode=False):
    return dict(type='MeshDataset',
                data_root=data_root,
                ann_file=ann_file,
                data_prefix=dict(img=img_dir),
                pipeline=pipeline,
                test_mode=test_mode)


# (annotation file, image folder, approximate size) of the in-the-wild sets; LSP, LSP-Extended,
# MPII and COCO carry EFT's fits as pose / shape / has_smpl, 3DPW its own SMPL labels.
in_the_wild = [('lsp_dataset_original_train.npz', 'lsp_dataset_original/', 1000),
               ('hr-lspet_train.npz', 'hr-lspet/', 9428), ('mpii_train.npz', 'mpii/', 14810),
               ('coco_2014_train.npz', 'coco/', 28344), ('3dpw_train.npz', '3dpw/', 22735)]
_itw_total = sum(size for _, _, size in in_the_wild)
train_sets = [
    _mesh_set('h36m_train.npz', 'h36m/', train_pipeline),
    _mesh_set('mpi_inf_3dhp_train.npz', 'mpi_inf_3dhp/', train_pipeline),
] + [_mesh_set(ann, img, train_pipeline) for ann, img, _ in in_the_wild]
train_ratios = [0.3, 0.1] + [0.6 * size / _itw_total for _, _, size in in_the_wild]

train_dataloader = dict(batch_size=32,
                        num_workers=8,
                        persistent_workers=True,
                        sampler=dict(type='MixedRatioSampler', ratios=train_ratios),
                        dataset=dict(type='ConcatDataset', datasets=train_sets))
val_dataloader = dict(batch_size=64,
                      num_workers=8,
                      persistent_workers=True,
                      drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
                      dataset=_mesh_set('3dpw_test.npz', '3dpw/', test_pipeline, test_mode=True))
test_dataloader = val_dataloader
# 3DPW: the ground truth is the SMPL mesh of the annotated gender (as SPIN evaluates).
val_evaluator = dict(type='MeshMetric',
                     gt_source='smpl',
                     body_models=dict(m=dict(smpl_body_model, gender='male'),
                                      f=dict(smpl_body_model, gender='female')),
                     prefix='3dpw')
test_evaluator = val_evaluator

# schedule: Adam, lr 2.5e-4 for 8 x 32 images, constant, 80 epochs.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=80, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2.5e-4))
param_scheduler = []
auto_scale_lr = dict(base_batch_size=256)

# runtime
custom_hooks = [dict(type='NonFiniteCheckHook')]
default_hooks = dict(timer=dict(type='IterTimerHook'),
                     logger=dict(type='LoggerHook', interval=50),
                     param_scheduler=dict(type='ParamSchedulerHook'),
                     checkpoint=dict(type='CheckpointHook',
                                     interval=5,
                                     max_keep_ckpts=3,
                                     save_best='3dpw/PA-MPJPE',
                                     rule='less'),
                     sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
