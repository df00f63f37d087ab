"""Drawing of a predicted mesh over its image."""
import cv2
import numpy as np


def project_to_image(vertices: np.ndarray, cam: np.ndarray, warp_mat: np.ndarray,
                     input_size) -> np.ndarray:
    """Image pixels (N, 2) of mesh points (N, 3): the weak-perspective camera (s, tx, ty) gives
    crop coordinates in [-1, 1], the inverse of the crop's affine map (2x3, image -> crop)
    takes them back to the image."""
    w, h = input_size
    uv = cam[0] * (vertices[:, :2] + cam[1:3])
    crop = (uv + 1) * np.array([w, h]) / 2
    inverse = cv2.invertAffineTransform(np.asarray(warp_mat, np.float64))
    return crop @ inverse[:, :2].T + inverse[:, 2]


def draw_mesh(img: np.ndarray,
              vertices: np.ndarray,
              faces: np.ndarray,
              cam: np.ndarray,
              warp_mat: np.ndarray,
              input_size,
              color=(200, 160, 110),
              alpha: float = 0.7) -> np.ndarray:
    """Draw the faces of a mesh, far to near, shaded by their facing, over a BGR image.

    Args:
        img (np.ndarray): (H, W, 3) uint8 BGR image.
        vertices (np.ndarray): (6890, 3) mesh in the model frame (x right, y down, z away).
        faces (np.ndarray): (F, 3) vertex indices.
        cam (np.ndarray): (3, ) weak-perspective camera (s, tx, ty).
        warp_mat (np.ndarray): (2, 3) affine map of the crop (image -> crop pixels).
        input_size (tuple): Crop (w, h).
        color (tuple): BGR colour of a face facing the camera.
        alpha (float): Opacity of the mesh.

    Returns:
        np.ndarray: A new image with the mesh drawn.
    """
    pixels = project_to_image(vertices, cam, warp_mat, input_size)
    tri = vertices[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    # Lambert shading towards the camera (-z), both sides lit.
    shade = 0.35 + 0.65 * np.abs(normals[:, 2])
    order = np.argsort(-tri[:, :, 2].mean(axis=1))
    layer = img.copy()
    mask = np.zeros(img.shape[:2], np.uint8)
    polys = np.round(pixels[faces] * 16).astype(np.int32)  # 4 bits of sub-pixel precision
    for i in order:
        colour = tuple(float(c * shade[i]) for c in color)
        cv2.fillConvexPoly(layer, polys[i], colour, cv2.LINE_AA, shift=4)
        cv2.fillConvexPoly(mask, polys[i], 255, shift=4)
    out = img.copy()
    sel = mask > 0
    out[sel] = (alpha * layer[sel] + (1 - alpha) * img[sel]).astype(np.uint8)
    return out
