"""Global average pooling of dynamic tokens: the classification neck of TCFormer."""
from typing import Sequence, Tuple, Union

import torch.nn as nn
from torch import Tensor

from tcformer_mm.ops import TokenSet
from tcformer_mm.registry import register_module


@register_module()
class TokenGlobalAveragePooling(nn.Module):
    """Mean of the token features of every token set: (B, N, C) -> (B, C).

    The papers classify from the mean of the last-stage token features (TPAMI section 4.1,
    and the RLE pose head of section 4.2.2): every token counts once, whatever image region it
    covers. Rendering the tokens to a map and pooling it (mmpretrain's ``GlobalAveragePooling``
    after ``output_format='maps'``) would instead weight each token by its area.

    Use it after ``TCFormer(output_format='tokens')``; like mmpretrain's necks it returns a
    tuple, one pooled tensor per input token set, so ``LinearClsHead`` takes the last one.

    Examples:
        >>> import torch
        >>> from tcformer_mm.models import TCFormer, TokenGlobalAveragePooling
        >>> backbone = TCFormer('v2-tiny', out_indices=(3, ), output_format='tokens')
        >>> feats = TokenGlobalAveragePooling()(backbone(torch.rand(2, 3, 64, 64)))
        >>> [tuple(f.shape) for f in feats]
        [(2, 512)]
    """

    def init_weights(self):
        """Nothing to initialise (the runner calls this on every module)."""

    def forward(self, inputs: Union[TokenSet, Sequence[TokenSet]]) -> Tuple[Tensor, ...]:
        """Pool every token set.

        Args:
            inputs (TokenSet | Sequence[TokenSet]): Output of the backbone.

        Returns:
            tuple[Tensor]: One (B, C) tensor per token set.

        Raises:
            TypeError: If an input is not a :class:`TokenSet` (e.g. a feature map of
                ``output_format='maps'``).
        """
        if isinstance(inputs, TokenSet):
            inputs = (inputs, )
        if not isinstance(inputs, (tuple, list)):
            raise TypeError(f'{type(self).__name__} takes a tuple of TokenSet, got '
                            f'{type(inputs).__name__}.')
        for item in inputs:
            if not isinstance(item, TokenSet):
                shape = f' of shape {tuple(item.shape)}' if isinstance(item, Tensor) else ''
                raise TypeError(
                    f'{type(self).__name__} pools token sets, got {type(item).__name__}{shape}: '
                    "build the backbone with output_format='tokens' (for feature maps use "
                    "mmpretrain's GlobalAveragePooling).")
        return tuple(tokens.x.mean(dim=1) for tokens in inputs)
