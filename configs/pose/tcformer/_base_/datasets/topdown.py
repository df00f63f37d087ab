# Top-down data loading as in mmpose's configs: person (or face) crops from boxes, 64 images
# per GPU for training and 32 for validation, two workers each. The dataset bases add the
# dataset, its pipelines and its metric.
data_mode = 'topdown'

train_dataloader = dict(batch_size=64,
                        num_workers=2,
                        persistent_workers=True,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(data_mode=data_mode))
val_dataloader = dict(batch_size=32,
                      num_workers=2,
                      persistent_workers=True,
                      drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
                      dataset=dict(data_mode=data_mode, test_mode=True))
test_dataloader = val_dataloader
