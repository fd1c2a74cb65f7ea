"""Label visibility, independent of the rendering backend (numpy only): which keypoints a camera sees.

A keypoint is visible when it projects inside the image, lies in front of the camera and is not occluded: its
camera depth exceeds the rendered depth at its (nearest) pixel by at most a tolerance (default 5 mm;
``outputs.visibility_tolerance`` in the scene file). Skin keypoints lie on the rendered surface (difference
~0); joint-centre keypoints lie a few millimetres under the skin, which is why the tolerance is a few
millimetres and not zero; anything thicker in front (the other side of the body, the wheel, a wall) hides them.
What counts as an occluder is the backend's business: it renders depth only of surfaces that may hide
keypoints (see-through ones and ``occluder: false`` meshes do not write it).

Mirror keypoints (one set per mirror the camera faces, names with the mirror's suffix) are projected through
the mirror's virtual camera (:meth:`~synthmouse.scene.mirror.Mirror.mirrored_camera`) and tested against the
same depth map, whose mirror regions hold the apparent depth of the reflection; they must also be seen through
the mirror's polygon. Any backend that renders a camera's depth map (distorted like its image, ``inf`` where
nothing is hit) can label with :func:`label_keypoints`.
"""

from __future__ import annotations

import numpy as np

from ..scene.camera import Camera

DEFAULT_VISIBILITY_TOLERANCE_M = 0.005


def visibility_tolerance(scene, override: float | None = None) -> float:
    """Metres a keypoint may lie behind the rendered surface: ``override``, else the scene's
    ``outputs.visibility_tolerance``, else :data:`DEFAULT_VISIBILITY_TOLERANCE_M`."""
    if override is not None:
        return override
    return getattr(scene.spec.outputs, "visibility_tolerance", DEFAULT_VISIBILITY_TOLERANCE_M)


def facing_mirrors(mirrors, camera: Camera, limit: int | None = None) -> list[int]:
    """Indices of the scene mirrors (:class:`~synthmouse.scene.build.SceneMirror`) whose reflective side
    faces ``camera`` (at most ``limit``, in scene order): the mirrors it sees reflections in."""
    front = [i for i, sm in enumerate(mirrors) if sm.mirror.signed_distance(camera.position) > 0]
    return front if limit is None else front[:limit]


def label_keypoints(
    scene, camera: Camera, keypoints3d: np.ndarray, depth: np.ndarray, front: list[int], tolerance: float
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """2D keypoints, visibility and names of one camera: the scene's keypoints, then each mirror's.

    Args:
        scene: the scene (its :func:`label_names` and ``mirrors``).
        camera: the camera the depth map was rendered for.
        keypoints3d: ``(K, 3)`` world metres: the body's keypoints, then the rig objects' (they are tested
            against the same depth map, so objects hide, and are hidden by, the mouse and the rig).
        depth: ``(H, W) float32`` rendered depth (camera z, ``inf`` for background), distorted like the image.
        front: indices of the mirrors drawn for this camera (:func:`facing_mirrors`); the others hide theirs.
        tolerance: metres (:func:`visibility_tolerance`).

    Returns:
        ``(K * (1 + M), 2)`` pixels, ``(K * (1 + M),) bool`` visible and the names.
    """
    names = label_names(scene)
    pixels, visible = keypoint_visibility(camera, keypoints3d, depth, tolerance)
    all_pixels, all_visible, all_names = [pixels], [visible], [names]
    for index, sm in enumerate(scene.mirrors):
        virtual = sm.mirror.mirrored_camera(camera)
        px, vis = keypoint_visibility(virtual, keypoints3d, depth, tolerance)
        vis &= sm.mirror.mirror_visible(keypoints3d, camera) & (index in front)
        all_pixels.append(px)
        all_visible.append(vis)
        all_names.append(sm.keypoint_names(names))
    return np.concatenate(all_pixels), np.concatenate(all_visible), sum(all_names, ())


def label_names(scene) -> tuple[str, ...]:
    """The names of the keypoints a scene labels: its body keypoint set's, then its rig objects'
    (``Scene.label_names``)."""
    names = getattr(scene, "label_names", None)
    return tuple(names) if names is not None else tuple(scene.keypoint_set.names)


def keypoint_visibility(
    camera: Camera, points: np.ndarray, depth: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Project ``(K, 3)`` world points and test them against a rendered depth map.

    Args:
        camera: the camera (a mirror's virtual camera for mirror keypoints).
        points: ``(K, 3)`` world metres.
        depth: ``(H, W) float32`` rendered depth (camera z, ``inf`` for background), distorted like the image.
        tolerance: metres a point may lie behind the rendered surface and still count as visible.

    Returns:
        ``(K, 2) float64`` pixels and ``(K,) bool`` visible (in the image, in front of the camera, not
        occluded).
    """
    pixels, z = camera.project_with_depth(points)
    return pixels, in_view(camera, points, pixels) & unoccluded(depth, pixels, z, tolerance)


def in_view(camera: Camera, points: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """``(K,) bool``: ``pixels`` (the projections of ``points``) are finite and inside the image, and the
    points are in front of the camera, where its lens model holds."""
    return camera.in_image(pixels) & camera.projectable(points) & np.all(np.isfinite(pixels), axis=-1)


def unoccluded(depth: np.ndarray, pixels: np.ndarray, z: np.ndarray, tolerance: float) -> np.ndarray:
    """``(K,) bool``: camera depth ``z`` is at most ``tolerance`` behind the rendered ``depth`` at the nearest
    pixel of each of ``pixels`` (clipped to the image; test :func:`in_view` as well)."""
    height, width = depth.shape
    u = np.clip(np.rint(np.nan_to_num(pixels[:, 0])), 0, width - 1).astype(np.int64)
    v = np.clip(np.rint(np.nan_to_num(pixels[:, 1])), 0, height - 1).astype(np.int64)
    return z <= depth[v, u] + tolerance


__all__ = [
    "DEFAULT_VISIBILITY_TOLERANCE_M",
    "facing_mirrors",
    "in_view",
    "keypoint_visibility",
    "label_keypoints",
    "label_names",
    "unoccluded",
    "visibility_tolerance",
]
