"""Detection-size inputs: padding to a multiple of 32, mixed sizes, empty images, odd maps."""
import pytest
import torch
from helpers.detection import one_thread  # noqa: F401  (autouse: one intra-op thread)
from helpers.detection import TINY_MASK_RCNN, TINY_RETINANET, batch, build_detector, loss_step

DETECTORS = {'retinanet': TINY_RETINANET, 'mask-rcnn': TINY_MASK_RCNN}


@pytest.fixture(scope='module', params=sorted(DETECTORS))
def detector(request):
    return request.param, build_detector(DETECTORS[request.param])


@pytest.fixture(scope='module')
def retinanet():
    return build_detector(TINY_RETINANET).eval()


def features(model, data):
    """Backbone + MTA maps of a preprocessed batch, and the padded batch."""
    model.eval()
    with torch.no_grad():
        processed = model.data_preprocessor(data, False)
        return model.extract_feat(processed['inputs']), processed


def test_padding_to_a_multiple_of_32(retinanet):
    """A 100x150 image is padded to 128x160 (pad_size_divisor=32) with zeros."""
    feats, processed = features(retinanet, batch([(100, 150, [[10, 10, 60, 70]], [1])]))
    assert tuple(processed['inputs'].shape) == (1, 3, 128, 160)
    assert processed['data_samples'][0].batch_input_shape == (128, 160)
    assert (processed['inputs'][0, :, 100:, :] == 0).all()
    assert (processed['inputs'][0, :, :, 150:] == 0).all()
    # RetinaNet's levels: stages 2-4 (strides 8, 16, 32) and two extra levels (64, 128).
    assert [tuple(f.shape[2:]) for f in feats] == [(16, 20), (8, 10), (4, 5), (2, 3), (1, 2)]
    assert all(f.shape[:2] == (1, 64) and torch.isfinite(f).all() for f in feats)


def test_batch_of_two_sizes(retinanet):
    """Two sizes in a batch are padded to the larger; each image keeps its own results.

    The larger image is padded alone as in the batch, so its features and head outputs equal
    its single-image ones: the token machinery keeps the images of a batch apart even though
    their clusterings differ.
    """
    big = (100, 150, [[10, 10, 60, 70], [80, 20, 140, 90]], [0, 2])
    small = (70, 90, [[5, 5, 40, 50]], [1])
    data = batch([big, small])
    feats, processed = features(retinanet, data)
    assert tuple(processed['inputs'].shape) == (2, 3, 128, 160)
    assert [s.img_shape for s in processed['data_samples']] == [(100, 150), (70, 90)]
    alone, alone_processed = features(retinanet, batch([big]))
    torch.testing.assert_close(processed['inputs'][:1], alone_processed['inputs'])
    for level, single in zip(feats, alone):
        torch.testing.assert_close(level[:1], single, rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        cls_batched, box_batched = retinanet(**processed, mode='tensor')
        cls_alone, box_alone = retinanet(**alone_processed, mode='tensor')
    for a, b in zip(cls_batched + box_batched, cls_alone + box_alone):
        torch.testing.assert_close(a[:1], b, rtol=1e-4, atol=1e-4)
    # The smaller image sees a different (padded) input than alone, but its detections stay
    # inside its own frame.
    with torch.no_grad():
        results = retinanet.test_step(data)
    for result, (h, w) in zip(results, [(100, 150), (70, 90)]):
        boxes = result.pred_instances.bboxes
        assert result.ori_shape == (h, w)
        assert (boxes[:, 0::2] <= w).all() and (boxes[:, 1::2] <= h).all() and (boxes >= 0).all()


def test_empty_images_in_a_train_step(detector):
    """An image without objects next to one with objects, and a batch of empty images."""
    name, model = detector
    with_mask = name == 'mask-rcnn'
    empty = (96, 128, [], [])
    full = (120, 100, [[10, 10, 50, 60], [55, 60, 95, 110]], [0, 2])
    model.zero_grad()
    losses, shape = loss_step(model, batch([empty, full], with_mask=with_mask))
    assert shape == (2, 3, 128, 128)
    assert torch.isfinite(losses['loss']) and losses['loss'] > 0
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)

    model.zero_grad()
    losses, _ = loss_step(model, batch([empty, empty], with_mask=with_mask))
    assert torch.isfinite(losses['loss'])
    # Only the classification of background remains: no box (or mask) targets.
    box_losses = (['loss_bbox'] if not with_mask else ['loss_rpn_bbox', 'loss_bbox', 'loss_mask'])
    for key in box_losses:
        assert losses[key] == 0, (key, losses[key])
    cls_key = 'loss_cls' if not with_mask else 'loss_rpn_cls'
    assert losses[cls_key] > 0


def test_odd_map_sizes_reach_local_clustering():
    """Without padding, a 97x131 image gives a 25x33 stage-1 map: the 4x4 clustering parts of
    the first CTM (and the 2x2 ones of the second) need padded windows."""
    model = build_detector(TINY_RETINANET, **{'model.data_preprocessor.pad_size_divisor': 1})
    data = batch([(97, 131, [[10, 10, 60, 70]], [1])])
    model.eval()
    with torch.no_grad():
        processed = model.data_preprocessor(data, False)
        assert tuple(processed['inputs'].shape) == (1, 3, 97, 131)
        tokens = model.backbone(processed['inputs'])
        feats = model.neck(tokens)
    assert [t.map_size for t in tokens] == [(25, 33), (13, 17), (7, 9), (4, 5)]
    # 825 stage-1 tokens in 16 parts: round(825 / 4 / 16) = 13 clusters in each part.
    assert tokens[1].num_tokens == 16 * 13
    assert [tuple(f.shape[2:]) for f in feats] == [(13, 17), (7, 9), (4, 5), (2, 3), (1, 2)]
    assert all(torch.isfinite(f).all() for f in feats)
    with torch.no_grad():
        [result] = model.test_step(data)
    assert result.ori_shape == (97, 131)


def test_too_small_unpadded_image_is_a_clear_error():
    """Without padding to 32, an image smaller than the backbone's windows is refused by name."""
    model = build_detector(TINY_RETINANET, **{'model.data_preprocessor.pad_size_divisor': 1})
    with pytest.raises(ValueError, match=r'input size 20x24 is too small.*smallest input'):
        model.test_step(batch([(20, 24, [], [])]))
