"""Bad input to the library gets an error that names the argument, what was expected and what
was found (the tools' cases are in tests/test_tools/test_cli_errors.py)."""
from contextlib import ExitStack
from unittest import mock

import pytest
import torch

from tcformer_mm.models import MTA, MTAPixelDecoder, TCFormer
from tcformer_mm.models.backbones import tcformer as tcformer_module
from tcformer_mm.ops import TokenSet
from tcformer_mm.ops.clustering import build_clustering

IMAGE = torch.rand(1, 3, 64, 64)


def backbone(**kwargs):
    return TCFormer(arch='v2-tiny', **kwargs).eval()


def forward(x, **kwargs):
    with torch.no_grad():
        return backbone(**kwargs)(x)


def mta(**kwargs):
    return MTA([64, 128, 320, 512], 32, num_outs=4, **kwargs)


def huge_forward(arch='v1-light', batch=1, available=8 * 2**30, train=False, **kwargs):
    """The forward of an 8192x8192 input, which the memory check must refuse before anything
    large is allocated: the images are never written (``torch.empty``, the batch an expanded
    view) and the forward after the checks is replaced by an error. Gradients only when
    ``train``. ``available`` fakes the free memory (bytes); None keeps the machine's."""
    model = TCFormer(arch=arch, **kwargs).train(train)
    x = torch.empty(1, 3, 8192, 8192).expand(batch, -1, -1, -1)
    with ExitStack() as stack:
        stack.enter_context(torch.set_grad_enabled(train))
        stack.enter_context(
            mock.patch.object(TCFormer, '_forward', side_effect=AssertionError('forward started')))
        if available is not None:
            stack.enter_context(
                mock.patch.object(tcformer_module, 'available_memory', return_value=available))
        return model(x)


def custom_arch(**changes):
    return TCFormer(arch=dict(TCFormer.arch_zoo['v1-light'], depths=[1, 1, 1, 1], **changes))


def mta_forward(in_channels):
    with torch.no_grad():
        return MTA(in_channels, 32, num_outs=4)(forward(IMAGE))


#: (id, call, exception type, fragment of the message)
CASES = [
    ('empty batch', lambda: forward(torch.rand(0, 3, 64, 64)), ValueError,
     r'the batch is empty \(shape \(0, 3, 64, 64\)\)'),
    ('one channel into RGB', lambda: forward(torch.rand(1, 1, 64, 64)), ValueError,
     'in_channels is 3, but the images have 1 channels'),
    ('no batch dimension', lambda: forward(torch.rand(3, 64, 64)), ValueError,
     r'expected images of shape \(B, C, H, W\), got shape \(3, 64, 64\)'),
    ('uint8 image', lambda: forward((IMAGE * 255).to(torch.uint8)), TypeError,
     'images must be floating point .* got torch.uint8'),
    ('fp16 image, fp32 model', lambda: forward(IMAGE.half()), TypeError,
     'images are torch.float16 but the weights are torch.float32'),
    ('bf16 image, fp32 model', lambda: forward(IMAGE.bfloat16()), TypeError,
     'images are torch.bfloat16 but the weights are torch.float32'),
    ('not a tensor', lambda: forward(IMAGE.numpy()), TypeError,
     'expected an image tensor .* got ndarray'),
    ('input too small', lambda: forward(torch.rand(1, 3, 16, 16)), ValueError,
     'input size 16x16 is too small'),
    ('unknown arch', lambda: TCFormer(arch='v3'), ValueError, "Arch 'v3' is not in"),
    ('out_indices out of range', lambda: backbone(out_indices=(-5, )), ValueError,
     'Invalid out_indices -5'),
    ('drop_path_rate above 1', lambda: backbone(drop_path_rate=2.0), ValueError,
     r'drop_path_rate is a probability in \[0, 1\), got 2.0'),
    ('negative drop_rate', lambda: backbone(drop_rate=-0.1), ValueError,
     'drop_rate is a probability'),
    ('zero in_channels', lambda: backbone(in_channels=0), ValueError,
     'in_channels must be a positive integer, got 0'),
    ('num_parts not square', lambda: backbone(num_parts=(8, 4, 1)), ValueError,
     'num_parts must be squares'),
    ('unknown output_format', lambda: backbone(output_format='map'), ValueError,
     "output_format must be 'tokens' or 'maps', got 'map'"),
    ('dpc_knn k=0', lambda: build_clustering(dict(type='dpc_knn', k=0)), ValueError,
     'dpc_knn: k must be a positive integer, got 0'),
    ('dpc_knn k=-3', lambda: backbone(clustering=dict(type='dpc_knn', k=-3)), ValueError,
     'dpc_knn: k must be a positive integer, got -3'),
    ('dpc_knn k float', lambda: build_clustering(dict(type='dpc_knn', k=2.5)), ValueError,
     'k must be a positive integer, got 2.5'),
    ('kmeans no iterations', lambda: build_clustering(dict(type='kmeans', num_iters=0)), ValueError,
     'kmeans: num_iters must be a positive integer'),
    ('bsm no steps', lambda: build_clustering(dict(type='bsm', num_steps=0)), ValueError,
     'bsm: num_steps must be a positive integer'),
    ('ratio above 1', lambda: backbone(clustering=dict(type='topk', ratio=4)), ValueError,
     r'topk: ratio is the fraction of tokens kept as clusters, a number in \(0, 1\], got 4'),
    ('unknown clustering argument', lambda: build_clustering(dict(type='dpc_knn', kk=3)), TypeError,
     "clustering 'dpc_knn': .*unexpected keyword argument 'kk'"),
    ('unknown clustering', lambda: build_clustering('dbscan'), ValueError,
     "unknown clustering type 'dbscan'"),
    ('MTA start_level beyond the inputs', lambda: mta(start_level=5), ValueError,
     r'start_level 5 must index one of the 4 input levels \(0..3\)'),
    ('MTA unknown kv_reduction', lambda: mta(kv_reduction='conv'), ValueError,
     "kv_reduction must be one of .* got 'conv'"),
    ('MTA wrong widths', lambda: mta_forward([64, 128, 256, 512]), ValueError,
     r'in_channels is \[64, 128, 256, 512\], but the token sets have \[64, 128, 320, 512\]'),
    ('MTA fed feature maps', lambda: mta()
     (tuple(torch.rand(1, c, 8, 8) for c in (64, 128, 320, 512))), TypeError,
     "inputs must be TokenSets; build the backbone with output_format='tokens'"),
    ('MTA too few levels', lambda: mta()
     (forward(IMAGE)[:3]), ValueError, r'expected 4 token sets \(in_channels\), got 3'),
    ('v1-light 8192x8192, 8 GiB free', lambda: huge_forward(), ValueError,
     r'TCFormer \(v1-light\): an input of 8192x8192 \(batch 1\) needs about 29.6 GiB at its '
     r'peak \(at least 16.0 GiB for the stage-1 MLP activations, 4194304 tokens x 512 channels '
     r'.* more than the 8.0 GiB available on cpu; use a smaller input or batch \(at most about '
     r'\d+x\d+ fits'),
    ('v1-light 8192x8192 on a 24 GB machine', lambda: huge_forward(available=22 * 2**30),
     ValueError, r'needs about 29.6 GiB at its peak .* more than the 22.0 GiB available'),
    ('v1 8192x8192 training with attention dropout',
     lambda: huge_forward('v1', train=True, attn_drop_rate=0.1), ValueError,
     r'TCFormer \(v1\): an input of 8192x8192 \(batch 1\) needs about 3.0 TiB at its peak '
     r'\(at least 2.0 TiB for the stage-1 attention scores, 4194304 x 65536 x 1 head'),
    ('v2-small 8192x8192 batch 1024, free memory of this machine',
     lambda: huge_forward('v2-small', batch=1024, available=None), ValueError,
     r'TCFormer \(v2-small\): an input of 8192x8192 \(batch 1024\) needs about 29.6 TiB'),
    ('empty out_indices', lambda: backbone(out_indices=()), ValueError,
     r'out_indices selects no stage: expected at least one of 0-3, got \(\)'),
    ('custom arch with zero heads', lambda: custom_arch(num_heads=[1, 2, 0, 8]), ValueError,
     'num_heads of stage 3 must be a positive integer dividing its embed_dims 320, got 0'),
    ('custom arch heads not dividing', lambda: custom_arch(num_heads=[1, 3, 5, 8]), ValueError,
     'num_heads of stage 2 must be a positive integer dividing its embed_dims 128, got 3'),
    ('MTA empty out_indices', lambda: mta(out_indices=()), ValueError,
     r'out_indices selects no output level: expected at least one index in \[0, 4\) '
     r'\(or None for all\), got \(\)'),
    ('MTA no outputs', lambda: MTA([64, 128, 320, 512], 32, num_outs=0), ValueError,
     'num_outs must be a positive integer .*got 0'),
    ('MTA heads not dividing', lambda: mta(num_heads=5), ValueError,
     r'num_heads of level 0 must be a positive integer dividing out_channels 32 '
     r'\(one of \[1, 2, 4, 8, 16, 32\]\), got 5'),
    ('MTA zero heads', lambda: mta(num_heads=0), ValueError,
     'num_heads of level 0 must be a positive integer dividing out_channels 32 .* got 0'),
    ('MTA heads of one level', lambda: mta(num_heads=[4, 4, 3, 4]), ValueError,
     'num_heads of level 2 must be .* got 3'),
    ('MTAPixelDecoder no memories',
     lambda: MTAPixelDecoder([64, 128, 320, 512], 32, 32, num_outs=0), ValueError,
     r'num_outs must lie in \[1, 3\] .* got 0'),
    ('TokenSet without batch', lambda: TokenSet.from_grid(torch.rand(16, 8), (4, 4)), ValueError,
     r'x must have shape \(B, H\*W, C\)'),
]


@pytest.mark.parametrize('call,error,message', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_cases_are_distinct():
    assert len({c[0] for c in CASES}) == len(CASES)


def test_autocast_takes_half_precision_images():
    """What the dtype check must not refuse: bf16 images under autocast."""
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = forward(IMAGE.bfloat16())
    assert out[0].x.dtype == torch.bfloat16
