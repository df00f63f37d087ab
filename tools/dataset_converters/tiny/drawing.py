"""Drawing and geometry shared by the tiny set generators: backgrounds, colours, shape
polygons, their masks and non-overlapping placement.
"""
import math

import numpy as np

# Class palettes (RGB): each class gets its own hue, jittered per object, so colour as well as
# shape identifies the class and a small model learns it within a few hundred iterations.
SHAPE_COLOURS = {
    'circle': (220, 60, 60),
    'square': (60, 200, 70),
    'triangle': (60, 90, 230),
    'cross': (230, 210, 50),
}


def noisy_background(rng, height, width, base=None, gradient=30):
    """Textured background: a (by default low-saturation grey) base, a gradient, noise."""
    if base is None:
        base = rng.uniform(40, 160) + rng.uniform(-15, 15, size=3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    direction = rng.uniform(-1, 1, size=2)
    ramp = gradient * (direction[0] * xx / width + direction[1] * yy / height)
    img = np.asarray(base, np.float32)[None, None, :] + ramp[..., None]
    img = img + rng.normal(0, 8, size=(height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def jitter_colour(rng, colour, amount=30):
    """A class colour with per-object jitter, as a tuple of Python ints (what cv2 wants)."""
    jittered = np.clip(np.asarray(colour) + rng.integers(-amount, amount + 1, size=3), 0, 255)
    return tuple(int(c) for c in jittered)


def random_colour(rng, low=60, high=255):
    """A random RGB colour as a tuple of Python ints."""
    return tuple(int(c) for c in rng.integers(low, high, size=3))


def rotate(points, angle, centre):
    """Rotate (N, 2) points by ``angle`` radians about ``centre``."""
    c, s = math.cos(angle), math.sin(angle)
    rel = np.asarray(points, np.float64) - centre
    return np.stack([c * rel[:, 0] - s * rel[:, 1], s * rel[:, 0] + c * rel[:, 1]], 1) + centre


def shape_polygon(kind, cx, cy, radius, angle):
    """Polygon (N, 2) of a shape inscribed in a circle of ``radius`` at (cx, cy).

    Coordinates are COCO's (pixel i spans [i, i + 1)), rounded to 0.01 so the JSON holds
    exactly the polygon that was drawn.
    """
    if kind == 'circle':
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * radius
    elif kind == 'square':
        t = np.pi / 4 + np.arange(4) * np.pi / 2
        pts = np.stack([np.cos(t), np.sin(t)], 1) * radius
    elif kind == 'triangle':
        t = -np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        pts = np.stack([np.cos(t), np.sin(t)], 1) * radius
    elif kind == 'cross':
        a, w = radius * 0.95, radius * 0.3
        pts = np.array([[w, -a], [w, -w], [a, -w], [a, w], [w, w], [w, a], [-w, a], [-w, w],
                        [-a, w], [-a, -w], [-w, -w], [-w, -a]])
    else:
        raise ValueError(f'unknown shape {kind!r}')
    return np.round(rotate(pts, angle, np.zeros(2)) + (cx, cy), 2)


def polygon_mask(polygon, height, width):
    """Pixels whose centres lie inside ``polygon`` (even-odd rule).

    This is how pycocotools rasterises COCO polygons, so the drawn pixels and the masks that
    mmdet decodes from the annotation agree up to rare boundary pixels.
    """
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    inside = np.zeros((height, width), bool)
    for (ax, ay), (bx, by) in zip(polygon, np.roll(polygon, -1, 0)):
        if ay == by:
            continue  # a horizontal edge crosses no horizontal ray
        crosses = (ay > yy) != (by > yy)
        inside ^= crosses & (xx < ax + (yy - ay) * (bx - ax) / (by - ay))
    return inside


def fill_polygon(canvas, polygon, value):
    """Paint ``polygon`` with hard edges; return the painted mask (what is annotated)."""
    mask = polygon_mask(polygon, *canvas.shape[:2])
    canvas[mask] = value
    return mask


def place_circles(rng, count, height, width, r_min, r_max, margin=3, tries=200):
    """Sample up to ``count`` non-overlapping circles (cx, cy, r) inside the image."""
    circles = []
    for _ in range(tries):
        if len(circles) == count:
            break
        r = rng.uniform(r_min, r_max)
        cx = rng.uniform(r + margin, width - r - margin)
        cy = rng.uniform(r + margin, height - r - margin)
        if all(math.hypot(cx - x, cy - y) > r + q + margin for x, y, q in circles):
            circles.append((cx, cy, r))
    return circles
