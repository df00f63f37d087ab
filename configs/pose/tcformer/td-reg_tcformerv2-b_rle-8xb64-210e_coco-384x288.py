# RLE + TCFormerV2-Base, COCO, 384x288 (TPAMI Table III: 62.4M parameters, 25.1 GFLOPs, val AP
# 77.1; Table IV: test-dev AP 76.1). mmpose's RLE recipe at 384x288
# (td-reg_res152_rle-8xb64-210e_coco-384x288: lr 5e-4 for 8 x 64 images).
_base_ = ['./td-reg_tcformerv2-b_rle-8xb64-210e_coco-256x192.py']

optim_wrapper = dict(optimizer=dict(lr=5e-4))

codec = dict(type='RegressionLabel', input_size=(288, 384))

model = dict(head=dict(decoder=codec))

# The base's pipelines, warping to this codec's input size and encoding its targets.
train_pipeline = [
    *_base_.train_pipeline[:-3],
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_pipeline = [
    *_base_.val_pipeline[:-2],
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
