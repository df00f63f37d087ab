"""Pictures of the dynamic tokens: each token's image region in its mean colour, and token density.

The papers show the tokens of every stage by painting the image pixels of each token in the
token's mean colour with the token borders drawn (CVPR Fig. 1 and 5, TPAMI Fig. 8 and 15). A
:class:`TokenSet` says which token every initial grid cell belongs to (``idx_token``); a cell
is a ``stride x stride`` patch of the input image (the stride-4 patch embedding), so a token's
region is the union of the image patches of its cells. Everything here works on one image,
with numpy arrays, except :func:`stage_tokens`, which runs a backbone.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from tcformer_mm.ops import TokenSet

#: A colour in the image's channel order, or None for no border.
Color = Optional[Sequence[int]]


def token_label_map(tokens: TokenSet,
                    image_size: Tuple[int, int],
                    batch_index: int = 0) -> np.ndarray:
    """The token of every image pixel.

    Pixel (y, x) of an (H, W) image lies in initial grid cell
    (floor(y * H0 / H), floor(x * W0 / W)), which for the model's own input (H0 = ceil(H / 4))
    is the stride-4 patch (y // 4, x // 4).

    Args:
        tokens (TokenSet): Tokens of one stage.
        image_size (tuple[int, int]): (H, W) of the image to label.
        batch_index (int): Which image of the batch. Defaults to 0.

    Returns:
        np.ndarray: int64, shape (H, W), values in [0, N): the token of every pixel.
    """
    H, W = (int(v) for v in image_size)
    if H <= 0 or W <= 0:
        raise ValueError(f'image_size must be positive (H, W), got {image_size!r}')
    B = tokens.idx_token.shape[0]
    if not -B <= batch_index < B:
        raise ValueError(f'batch_index {batch_index} is out of range for a batch of {B}')
    H0, W0 = tokens.init_grid_size
    grid = tokens.idx_token[batch_index].detach().cpu().numpy().reshape(H0, W0)
    rows = np.arange(H) * H0 // H
    cols = np.arange(W) * W0 // W
    return grid[rows[:, None], cols[None, :]]


def _check_image(image: np.ndarray, labels: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must be (H, W, 3), got shape {image.shape}')
    if image.shape[:2] != labels.shape:
        raise ValueError(f'image {image.shape[:2]} and label map {labels.shape} differ in size')


def token_borders(labels: np.ndarray) -> np.ndarray:
    """Pixels on a token border: a 4-neighbour (right or below) belongs to another token.

    Args:
        labels (np.ndarray): Token of every pixel, shape (H, W).

    Returns:
        np.ndarray: bool, shape (H, W).
    """
    border = np.zeros(labels.shape, dtype=bool)
    right = labels[:, 1:] != labels[:, :-1]
    down = labels[1:, :] != labels[:-1, :]
    border[:, :-1] |= right
    border[:-1, :] |= down
    return border


def draw_token_regions(image: np.ndarray, labels: np.ndarray,
                       border_color: Color = (0, 0, 0)) -> np.ndarray:
    """Paint every token's region in its mean colour and draw the token borders.

    Args:
        image (np.ndarray): uint8 image, shape (H, W, 3), any channel order.
        labels (np.ndarray): Token of every pixel, shape (H, W) (:func:`token_label_map`).
        border_color (Sequence[int], optional): Colour of the border pixels, in the image's
            channel order; None draws no borders. Defaults to black.

    Returns:
        np.ndarray: uint8, shape (H, W, 3).
    """
    _check_image(image, labels)
    flat = labels.reshape(-1)
    _, inverse = np.unique(flat, return_inverse=True)
    inverse = inverse.reshape(-1)
    area = np.bincount(inverse).astype(np.float64)
    pixels = image.reshape(-1, 3).astype(np.float64)
    mean = np.stack([np.bincount(inverse, pixels[:, c]) for c in range(3)], axis=1)
    mean /= area[:, None]
    out = np.rint(mean[inverse]).clip(0, 255).astype(np.uint8).reshape(image.shape)
    if border_color is not None:
        out[token_borders(labels)] = np.asarray(border_color, dtype=np.uint8)
    return out


def token_density(labels: np.ndarray, num_tokens: Optional[int] = None) -> np.ndarray:
    """Relative token density of every pixel.

    The density at a pixel is 1 / (area of its token's region), divided by the density of a
    uniform partition of the image into the same number of tokens: (H * W / N) / area. It is 1
    where tokens have the average size, above 1 where tokens are small (fine detail), below 1
    where they are large.

    Args:
        labels (np.ndarray): Token of every pixel, shape (H, W).
        num_tokens (int, optional): N. Defaults to the number of distinct labels.

    Returns:
        np.ndarray: float64, shape (H, W).
    """
    _, inverse, area = np.unique(labels.reshape(-1), return_inverse=True, return_counts=True)
    N = len(area) if num_tokens is None else num_tokens
    return (labels.size / N / area[inverse.reshape(-1)]).reshape(labels.shape)


def draw_density(image: np.ndarray,
                 densities: Sequence[np.ndarray],
                 alpha: float = 0.6) -> np.ndarray:
    """A heat map of the token density over the image (red: many small tokens).

    Args:
        image (np.ndarray): uint8 RGB image, shape (H, W, 3).
        densities (Sequence[np.ndarray]): Relative densities (:func:`token_density`) of the
            stages to show, each (H, W); their geometric mean is drawn, on a log2 scale
            clipped to [-3, 3] (an eighth to eight times the average density).
        alpha (float): Weight of the heat map over the image. Defaults to 0.6.

    Returns:
        np.ndarray: uint8 RGB, shape (H, W, 3).
    """
    import cv2
    if len(densities) == 0:
        raise ValueError('draw_density needs the density of at least one stage')
    log_density = np.mean([np.log2(d) for d in densities], axis=0)
    level = ((np.clip(log_density, -3, 3) + 3) / 6 * 255).astype(np.uint8)
    heat = cv2.applyColorMap(level, cv2.COLORMAP_JET)[..., ::-1]  # BGR -> RGB
    return (alpha * heat + (1 - alpha) * image).round().clip(0, 255).astype(np.uint8)


def stage_tokens(backbone: nn.Module, inputs: torch.Tensor) -> List[TokenSet]:
    """The token sets of all stages of a TCFormer backbone for normalised images.

    The backbone is run with ``out_indices=(0, 1, 2, 3)`` and ``output_format='tokens'`` in
    eval mode without gradients; its settings and mode are restored afterwards.

    Args:
        backbone (nn.Module): A :class:`TCFormer`.
        inputs (Tensor): Normalised images, shape (B, 3, H, W).

    Returns:
        list[TokenSet]: One per stage.
    """
    missing = [
        a for a in ('out_indices', 'output_format', 'num_stages') if not hasattr(backbone, a)
    ]
    if missing:
        raise TypeError(f'token visualization needs a TCFormer backbone, got '
                        f'{type(backbone).__name__} (no {missing})')
    saved = backbone.out_indices, backbone.output_format, backbone.training
    try:
        backbone.out_indices = tuple(range(backbone.num_stages))
        backbone.output_format = 'tokens'
        backbone.eval()
        with torch.no_grad():
            return list(backbone(inputs))
    finally:
        backbone.out_indices, backbone.output_format = saved[:2]
        backbone.train(saved[2])


def token_pictures(image: np.ndarray,
                   tokens: Sequence[TokenSet],
                   batch_index: int = 0,
                   border_color: Color = (0, 0, 0)) -> dict:
    """Everything the tool and the hook draw for one image.

    Args:
        image (np.ndarray): uint8 RGB image the tokens were computed from, (H, W, 3).
        tokens (Sequence[TokenSet]): Token sets of the stages (:func:`stage_tokens`).
        batch_index (int): The image's index in the batch of ``tokens``. Defaults to 0.
        border_color (Sequence[int], optional): See :func:`draw_token_regions`.

    Returns:
        dict: ``labels`` (list of (H, W) int64 label maps), ``regions`` (list of uint8 RGB
        pictures, one per stage), ``density`` (uint8 RGB heat map of the stages whose tokens
        are clustered, i.e. not the stage-1 grid; of all stages when none is) and ``summary``
        (the image, the stages' regions and the density side by side).
    """
    size = image.shape[:2]
    labels = [token_label_map(t, size, batch_index) for t in tokens]
    regions = [draw_token_regions(image, lab, border_color) for lab in labels]
    dynamic = [i for i, t in enumerate(tokens) if not t.is_grid] or list(range(len(tokens)))
    density = draw_density(image, [token_density(labels[i], tokens[i].num_tokens) for i in dynamic])
    gap = np.full((size[0], 4, 3), 255, dtype=np.uint8)
    row = [image]
    for picture in regions + [density]:
        row += [gap, picture]
    return dict(labels=labels,
                regions=regions,
                density=density,
                summary=np.concatenate(row, axis=1))
