import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement
from mmpose.registry import MODELS

from .synthetic import PROJECT, synthetic_files, use_mmpose_scope
from .test_tiny_training import TINY_CONFIG


def _model(tmp_path):
    use_mmpose_scope()
    files = synthetic_files(tmp_path)
    cfg = Config.fromfile(PROJECT.parent.parent / TINY_CONFIG)
    cfg.model.body_model.update(model_path=files['smpl'],
                                joint_regressor_extra=files['extra'],
                                joint_regressor_h36m=files['h36m'])
    cfg.model.head.mean_params = files['mean_params']
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _samples(n):
    samples = []
    for i in range(n):
        s = BaseDataElement(metainfo=dict(input_size=(96, 96)))
        kp2d = torch.rand(24, 3) * 96
        kp2d[:, 2] = 1
        s.set_field(kp2d, 'gt_keypoints_2d')
        s.set_field(torch.cat([torch.randn(24, 3) * 0.3, torch.ones(24, 1)], 1), 'gt_keypoints_3d')
        s.set_field(torch.randn(72) * 0.2, 'gt_pose')
        s.set_field(torch.randn(10), 'gt_betas')
        s.set_field(torch.tensor(float(i % 2)), 'has_smpl')
        s.set_field(torch.tensor(1.), 'has_keypoints_3d')
        samples.append(s)
    return samples


def test_loss_backpropagates_to_the_backbone(tmp_path):
    model = _model(tmp_path).train()
    data = model.data_preprocessor(dict(
        inputs=[torch.randint(0, 255, (3, 96, 96), dtype=torch.uint8)] * 2,
        data_samples=_samples(2)),
                                   training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {
        'loss_keypoints_2d', 'loss_keypoints_3d', 'loss_pose', 'loss_betas', 'loss_cam'
    }
    assert all(torch.isfinite(v) and v >= 0 for v in losses.values())
    sum(losses.values()).backward()
    assert model.backbone.stages[0].downsample.proj.weight.grad.abs().sum() > 0
    assert model.head.dec_pose.weight.grad.abs().sum() > 0
    # Nothing of the body model is learnt.
    assert not [n for n, p in model.body_model.named_parameters()]


def test_predict_outputs(tmp_path):
    model = _model(tmp_path).eval()
    model.test_cfg['output_vertices'] = True
    with torch.no_grad():
        out = model.test_step(
            dict(inputs=[torch.zeros(3, 96, 96, dtype=torch.uint8)] * 3, data_samples=_samples(3)))
    assert len(out) == 3
    s = out[0]
    assert s.pred_pose.shape == (24, 3, 3) and s.pred_betas.shape == (10, )
    assert s.pred_cam.shape == (3, ) and s.pred_joints.shape == (24, 3)
    assert s.pred_keypoints_2d.shape == (24, 2) and s.pred_eval_joints.shape == (14, 3)
    assert s.pred_vertices.shape == (6890, 3)
    # A fresh model predicts near the mean: upright, in the crop.
    assert 0 < s.pred_keypoints_2d.min() and s.pred_keypoints_2d.max() < 96
    head_top, ankle = s.pred_joints[13], s.pred_joints[0]
    assert head_top[1] < ankle[1]  # y points down
    tensor_out = model(torch.zeros(1, 3, 96, 96), mode='tensor')
    assert tensor_out['pred_pose'].shape == (1, 24, 3, 3)
