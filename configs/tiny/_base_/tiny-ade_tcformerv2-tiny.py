# The two CPU-sized ADE20K configs' common part: mmseg's runtime, the generated tiny ADE20K set
# and an EncoderDecoder on the real TCFormerV2-Tiny (local DPC-kNN CTMs in 16 / 4 / 1 parts),
# trained from scratch. The configs add the neck and the decode head.
_base_ = ['mmseg::_base_/default_runtime.py', './tiny-ade_96px.py']
custom_imports = dict(imports=['tcformer_mm'], allow_failed_imports=False)
# A stop at NaN / Inf weights or losses.
custom_hooks = [dict(type='NonFiniteCheckHook')]

model = dict(type='EncoderDecoder',
             data_preprocessor={{_base_.data_preprocessor}},
             backbone=dict(type='TCFormer',
                           arch='v2-tiny',
                           drop_path_rate=0.1,
                           output_format='tokens'),
             train_cfg=dict(),
             test_cfg=dict(mode='whole'))
