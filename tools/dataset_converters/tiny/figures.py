"""Stick figures shared by the COCO keypoints and COCO-WholeBody sets: keypoints of a
front-facing figure (body, feet, face, hands), its placement and its drawing.

Figures face the camera, so a person's left side is on the image's right as in the real sets,
and left/right twins share a dot colour (see ``make_tiny_datasets.py``).
"""
import math

import cv2
import numpy as np

from .drawing import jitter_colour, noisy_background, random_colour, rotate

# One colour per body joint type; left/right twins share it (see the module docstring).
BODY_DOT_COLOURS = ((255, 0, 0), (255, 255, 0), (255, 255, 0), (0, 255, 255), (0, 255, 255),
                    (255, 0, 255), (255, 0, 255), (0, 255, 0), (0, 255, 0), (255, 128, 0),
                    (255, 128, 0), (0, 0, 255), (0, 0, 255), (128, 0, 255), (128, 0, 255),
                    (0, 128, 128), (0, 128, 128))
FOOT_DOT_COLOUR = (255, 255, 255)
FACE_DOT_COLOUR = (255, 255, 255)
FINGER_DOT_COLOURS = ((255, 0, 0), (255, 255, 0), (0, 255, 0), (0, 255, 255), (255, 0, 255))


def limb_end(start, length, angle, side):
    """End of a limb leaving ``start``, ``angle`` radians outward from straight down."""
    return start + length * np.array([side * math.sin(angle), math.cos(angle)])


def face_points(centre, r):
    """68 iBUG face landmarks on a head of radius ``r`` (subject's right on image left)."""
    cx, cy = centre

    def ellipse(ox, oy, ax, ay, angles):
        return [(cx + (ox + ax * math.cos(t)) * r, cy + (oy + ay * math.sin(t)) * r)
                for t in angles]

    pts = ellipse(0, 0.05, 0.85, 0.8, np.linspace(np.pi, 0, 17))  # jaw 0-16
    pts += [(cx + u * r, cy + (-0.4 - 0.1 * math.sin(np.pi * (u + 0.8) / 0.6)) * r)
            for u in np.linspace(-0.8, -0.2, 5)]  # right brow 17-21, outer to inner
    pts += [(cx + u * r, cy + (-0.4 - 0.1 * math.sin(np.pi * (u - 0.2) / 0.6)) * r)
            for u in np.linspace(0.2, 0.8, 5)]  # left brow 22-26, inner to outer
    pts += [(cx, cy + v * r) for v in np.linspace(-0.25, 0.2, 4)]  # nose bridge 27-30
    pts += [(cx + u * r, cy + 0.3 * r) for u in np.linspace(-0.25, 0.25, 5)]  # nostrils 31-35
    eye_angles = [np.pi, 4 * np.pi / 3, 5 * np.pi / 3, 0, np.pi / 3, 2 * np.pi / 3]
    pts += ellipse(-0.4, -0.15, 0.22, 0.1, eye_angles)  # right eye 36-41
    pts += ellipse(0.4, -0.15, 0.22, 0.1, eye_angles)  # left eye 42-47
    outer = [np.pi + k * np.pi / 6 for k in range(6)] + [k * np.pi / 6 for k in range(6)]
    pts += ellipse(0, 0.55, 0.45, 0.2, outer)  # outer lip 48-59
    inner = [np.pi + k * np.pi / 4 for k in range(4)] + [k * np.pi / 4 for k in range(4)]
    pts += ellipse(0, 0.55, 0.3, 0.08, inner)  # inner lip 60-67
    return np.array(pts)


def hand_points(wrist, direction, length, side):
    """21 hand keypoints: wrist, then thumb..pinky from base to tip, fanned along ``direction``."""
    base_angle = math.atan2(direction[1], direction[0])
    pts = [wrist]
    for finger, offset in enumerate((-55, -22, 0, 20, 40)):
        angle = base_angle + side * math.radians(offset)
        u = np.array([math.cos(angle), math.sin(angle)])
        start = 0.25 if finger == 0 else 0.4
        pts += [wrist + (start + 0.17 * j) * length * u for j in range(4)]
    return np.array(pts)


def foot_points(ankle, length, side):
    """One foot's share of COCO-WholeBody's 6 foot keypoints: big toe, small toe, heel."""
    return np.array([
        ankle + length * np.array([-side * 0.1, 0.7]), ankle + length * np.array([side * 0.6, 0.6]),
        ankle + length * np.array([side * 0.05, 0.25])
    ])


def make_figure(rng, height, head_ratio, whole_body):
    """Keypoints of a front-facing figure with its top centre at the origin.

    Returns a dict of point arrays: ``body`` (17, 2) and, for whole-body figures, ``foot``
    (6, 2), ``face`` (68, 2), ``lefthand`` / ``righthand`` (21, 2); plus the head circle
    (``head`` centre, radius ``r``), the figure's ``height`` and the ``whole_body`` flag.
    """
    r = head_ratio * height
    head = np.array([0.0, r])
    neck = np.array([0.0, 2 * r + 0.02 * height])
    body = np.zeros((17, 2))
    face = face_points(head, r)
    body[0] = face[30]
    body[1], body[2] = face[42:48].mean(0), face[36:42].mean(0)
    body[3], body[4] = head + (r, -0.05 * r), head + (-r, -0.05 * r)
    elbow_dirs = {}
    for side, off in ((1, 0), (-1, 1)):  # left (image right) first, as COCO orders joints
        shoulder = neck + (side * 0.12 * height, 0.02 * height)
        hip = neck + (side * 0.07 * height, 0.32 * height)
        upper = rng.uniform(0.15, 2.6)
        fore = np.clip(upper + rng.uniform(-1.0, 1.0), 0.0, 2.9)
        elbow = limb_end(shoulder, 0.15 * height, upper, side)
        wrist = limb_end(elbow, 0.14 * height, fore, side)
        thigh = rng.uniform(0.0, 0.6)
        knee = limb_end(hip, 0.2 * height, thigh, side)
        ankle = limb_end(knee, 0.2 * height, np.clip(thigh + rng.uniform(-0.3, 0.3), 0, 0.9), side)
        body[[5 + off, 7 + off, 9 + off, 11 + off, 13 + off,
              15 + off]] = (shoulder, elbow, wrist, hip, knee, ankle)
        elbow_dirs[side] = (wrist - elbow) / np.linalg.norm(wrist - elbow)
    fig = dict(body=body, head=head, r=r, height=height, whole_body=whole_body)
    if whole_body:
        foot_len = 0.06 * height
        fig['foot'] = np.concatenate(
            [foot_points(body[15], foot_len, 1),
             foot_points(body[16], foot_len, -1)])
        fig['face'] = face
        hand_len = 0.16 * height
        fig['lefthand'] = hand_points(body[9], elbow_dirs[1], hand_len, 1)
        fig['righthand'] = hand_points(body[10], elbow_dirs[-1], hand_len, -1)
    return fig


FIGURE_PARTS = ('body', 'foot', 'face', 'lefthand', 'righthand')


def transform_figure(fig, angle, scale, offset):
    """Rotate a figure about its hips, then scale and translate every point set."""
    centre = fig['body'][11:13].mean(0)
    out = dict(fig, r=fig['r'] * scale, height=fig['height'] * scale)
    for key in FIGURE_PARTS + ('head', ):
        if key in fig:
            pts = np.atleast_2d(fig[key])
            moved = rotate(pts, angle, centre) * scale + offset
            out[key] = moved[0] if key == 'head' else moved
    return out


def figure_points(fig):
    """All of a figure's keypoints stacked, for extent computations."""
    return np.concatenate([fig[k] for k in FIGURE_PARTS if k in fig])


def draw_figure(canvas, fig, colours):
    """Draw limbs, torso, head, feet and hands; ``colours`` maps part -> colour.

    Called once on the image with real colours and once on a mask with every colour 1, so
    the annotated area is exactly the drawn figure.
    """
    b = np.round(fig['body']).astype(np.int32)
    # Whole-body figures are drawn stout: their mask area scales COCO-WholeBody's keypoint
    # tolerance (OKS), which is far tighter for face and hand points than for the body.
    thick = max(2, int(round(fig['height'] / (9 if fig['whole_body'] else 30))))
    torso = np.array([b[5], b[6], b[12], b[11]])
    cv2.fillPoly(canvas, [torso.reshape(-1, 1, 2)], colours['torso'], lineType=cv2.LINE_8)
    for a, c in ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16)):
        cv2.line(canvas, tuple(map(int, b[a])), tuple(map(int, b[c])), colours['limb'], thick)
    neck_top = tuple(int(v) for v in np.round(fig['head'] + (0, fig['r'])))
    neck_bottom = tuple(int(v) for v in np.round((b[5] + b[6]) / 2))
    cv2.line(canvas, neck_top, neck_bottom, colours['limb'], thick)
    centre = tuple(int(v) for v in np.round(fig['head']))
    cv2.circle(canvas, centre, int(round(fig['r'])), colours['skin'], -1)
    if fig['whole_body']:
        for side in range(2):
            foot = np.round(fig['foot'][3 * side:3 * side + 3]).astype(np.int32)
            ankle = b[15 + side]
            cv2.fillPoly(canvas, [np.concatenate([ankle[None], foot]).reshape(-1, 1, 2)],
                         colours['shoe'],
                         lineType=cv2.LINE_8)
        for key in ('lefthand', 'righthand'):
            hand = np.round(fig[key]).astype(np.int32)
            for finger in range(5):
                chain = np.concatenate([hand[:1], hand[1 + 4 * finger:5 + 4 * finger]])
                cv2.polylines(canvas, [chain.reshape(-1, 1, 2)], False, colours['skin'], 1)


def draw_dots(canvas, fig):
    """Draw every keypoint as a dot in its type's colour (after the figure itself).

    On a single-channel mask every dot is drawn as 1.
    """

    def paint(colour):
        return colour if canvas.ndim == 3 else 1

    radius = max(1, int(round(fig['height'] / (60 if fig['whole_body'] else 50))))
    for k, ((x, y), colour) in enumerate(zip(np.round(fig['body']).astype(int), BODY_DOT_COLOURS)):
        # Whole-body head joints get small dots so the face landmarks around stay visible.
        r = 1 if fig['whole_body'] and k < 5 else radius
        cv2.circle(canvas, (int(x), int(y)), r, paint(colour), -1)
    if not fig['whole_body']:
        return
    finger_colours = [FACE_DOT_COLOUR] + [c for c in FINGER_DOT_COLOURS for _ in range(4)]
    for key, colours in (('foot', [FOOT_DOT_COLOUR] * 6), ('face', [FACE_DOT_COLOUR] * 68),
                         ('lefthand', finger_colours), ('righthand', finger_colours)):
        for (x, y), colour in zip(np.round(fig[key]).astype(int), colours):
            cv2.circle(canvas, (int(x), int(y)), 1, paint(colour), -1)


def random_figure_colours(rng):
    """Per-figure colours of the drawn parts (the dots have fixed colours)."""
    # Mid-range channels keep limbs and torso distinct from the saturated dot colours.
    return dict(torso=random_colour(rng, 70, 200),
                limb=random_colour(rng, 70, 200),
                skin=jitter_colour(rng, (225, 180, 140), 25),
                shoe=random_colour(rng, 0, 80))


def place_figure(rng, fig, slot, size):
    """Randomly rotate, scale and translate a figure so it fits inside ``slot`` (x0, x1)."""
    angle = rng.uniform(-0.15, 0.15)
    fig = transform_figure(fig, angle, 1.0, np.zeros(2))
    pts = figure_points(fig)
    lo, hi = pts.min(0) - fig['r'] * 0.2 - 2, pts.max(0) + fig['r'] * 0.2 + 2
    lo[1] = min(lo[1], fig['head'][1] - fig['r'] - 2)
    # Keep one pixel clear of the slot's edges so rounded keypoints stay inside the image.
    slot_w, slot_h = slot[1] - slot[0] - 2, size - 2
    scale = min(1.0, slot_w / (hi[0] - lo[0]), slot_h / (hi[1] - lo[1]))
    free = np.array([slot_w, slot_h]) - (hi - lo) * scale
    offset = np.array([slot[0] + 1, 1.0]) + rng.uniform(0, 1, size=2) * free - lo * scale
    return transform_figure(fig, 0.0, scale, offset)


def render_figures(rng, num_figures, size, whole_body):
    """Draw ``num_figures`` figures side by side; return the image and per-figure (fig, mask)."""
    img = noisy_background(rng, size, size)
    figures = []
    slot_w = size / num_figures
    for k in range(num_figures):
        height = rng.uniform(0.6, 0.95) * size
        fig = make_figure(rng, height, 0.2 if whole_body else 0.09, whole_body)
        fig = place_figure(rng, fig, (k * slot_w, (k + 1) * slot_w), size)
        colours = random_figure_colours(rng)
        draw_figure(img, fig, colours)
        draw_dots(img, fig)
        mask = np.zeros((size, size), np.uint8)
        draw_figure(mask, fig, {key: 1 for key in colours})
        draw_dots(mask, fig)
        figures.append((fig, mask))
    return img, figures
