"""Pictures of TCFormer's dynamic tokens (token regions per stage, token density)."""
from .token_vis import (draw_density, draw_token_regions, stage_tokens, token_borders,
                        token_density, token_label_map, token_pictures)

__all__ = [
    'token_label_map', 'token_borders', 'draw_token_regions', 'token_density', 'draw_density',
    'stage_tokens', 'token_pictures'
]
