"""Show TCFormer's token regions and token density in the visualizer during validation."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tcformer_mm.registry import register_module
from tcformer_mm.visualization import stage_tokens, token_pictures


def _converts_channels(data_preprocessor) -> bool:
    """Whether the preprocessor swaps BGR <-> RGB (its flag has a different name per codebase)."""
    return any(
        bool(getattr(data_preprocessor, name, False))
        for name in ('to_rgb', '_channel_conversion', 'channel_conversion'))


def denormalize(inputs: torch.Tensor, data_preprocessor) -> np.ndarray:
    """Undo the preprocessor's normalisation: uint8 RGB images (B, H, W, 3).

    The loaders of the OpenMMLab codebases read BGR; a preprocessor that converts channels
    hands the model RGB, one that does not hands it BGR, which is flipped back here.
    """
    mean = getattr(data_preprocessor, 'mean', None)
    std = getattr(data_preprocessor, 'std', None)
    images = inputs.detach().float().cpu()
    if mean is not None and std is not None:
        images = images * std.cpu() + mean.cpu()
    images = images.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    if not _converts_channels(data_preprocessor):
        images = images[..., ::-1]
    return np.ascontiguousarray(images)


@register_module(registry='HOOKS')
class TokenVisHook(Hook):
    """Add pictures of the dynamic tokens to the runner's visualizer during validation.

    For the first ``num_images`` images of the first validation batch it draws, like the
    papers' figures, every stage's token regions (each token's pixels in the token's mean colour,
    token borders drawn) and the token density heat map, side by side with the input, and hands
    the picture to ``runner.visualizer.add_image`` (so to every configured backend: local files
    under ``vis_data/vis_image``, TensorBoard, ...), named ``token_vis_<i>`` at the current
    training iteration.

    The model must have a TCFormer ``backbone``; its output format and indices are unchanged
    (the tokens of all stages come from an extra forward of the backbone).

    Args:
        num_images (int): Images of the first batch to draw. Defaults to 1.
        interval (int): Draw at every ``interval``-th validation. Defaults to 1.
        border_color (Sequence[int], optional): RGB colour of token borders; None draws none.
            Defaults to black.

    Example:
        >>> custom_hooks = [dict(type='TokenVisHook', num_images=2)]
    """

    priority = 'LOW'

    def __init__(self,
                 num_images: int = 1,
                 interval: int = 1,
                 border_color: Optional[Sequence[int]] = (0, 0, 0)):
        if num_images < 1 or interval < 1:
            raise ValueError(f'TokenVisHook: num_images and interval must be >= 1, got '
                             f'num_images={num_images}, interval={interval}')
        self.num_images = num_images
        self.interval = interval
        self.border_color = border_color
        self._val_count = 0

    def before_val_epoch(self, runner) -> None:
        self._val_count += 1

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Draw the first images of the first batch of every ``interval``-th validation."""
        if batch_idx != 0 or (self._val_count - 1) % self.interval != 0 or data_batch is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        if backbone is None:
            raise TypeError(f'TokenVisHook needs a model with a TCFormer backbone, got '
                            f'{type(model).__name__} without `backbone`')
        with torch.no_grad():
            data = model.data_preprocessor(data_batch, False)
        inputs = data['inputs'][:self.num_images]
        tokens = stage_tokens(backbone, inputs)
        images = denormalize(inputs, model.data_preprocessor)
        for i, image in enumerate(images):
            pictures = token_pictures(image, tokens, batch_index=i, border_color=self.border_color)
            runner.visualizer.add_image(f'token_vis_{i}', pictures['summary'], step=runner.iter)
