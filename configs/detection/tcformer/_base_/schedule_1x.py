# mmdet's COCO 1x schedule (12 epochs, steps at 8 and 11) and runtime with AdamW at lr 1e-4, the
# papers' only change (TPAMI section 4.4); weight decay 1e-4 as mmdet's PVT configs.
_base_ = ['mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py']

# A stop at NaN / Inf weights or losses.
custom_hooks = [dict(type='NonFiniteCheckHook')]

optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=0.0001, weight_decay=0.0001))
