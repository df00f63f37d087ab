"""The initialisation of the released TCFormer modules."""
import math

import torch.nn as nn
from mmengine.model.weight_init import constant_init, normal_init, trunc_normal_init


def released_init(module: nn.Module) -> None:
    """Initialise every submodule as the released constructors did.

    Linear: truncated normal (std 0.02), bias 0. LayerNorm: weight 1, bias 0. Conv2d (the token
    convolutions included): normal(0, sqrt(2 / fan_out)) with fan_out = kh * kw * out_channels
    / groups, bias 0. Other layers (the 1x1 Conv1d skips of the token convolutions) keep
    PyTorch's default.

    Args:
        module (nn.Module): Initialised in place.
    """
    for m in module.modules():
        if isinstance(m, nn.Linear):
            trunc_normal_init(m, std=.02, bias=0.)
        elif isinstance(m, nn.LayerNorm):
            constant_init(m, 1.0, 0.)
        elif isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            normal_init(m, 0, math.sqrt(2.0 / fan_out))
