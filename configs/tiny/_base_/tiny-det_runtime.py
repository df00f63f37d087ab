# mmdet's runtime for the CPU-sized detection runs on the tiny COCO set: iteration-based loops,
# AdamW at lr 1e-3 with gradient clipping (the detectors train from scratch), a log line every
# 10 iterations, the last checkpoint kept, seed 0. The configs set the length and the lr
# schedule.
_base_ = 'mmdet::_base_/default_runtime.py'

val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     clip_grad=dict(max_norm=10.0))

default_hooks = dict(logger=dict(type='LoggerHook', interval=10),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, max_keep_ckpts=1))
custom_hooks = [dict(type='NonFiniteCheckHook')]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=4)
