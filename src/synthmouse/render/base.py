"""Renderer interface and the per-frame result every backend returns.

A renderer is any object with ``render(scene, frame: FrameState) -> FrameResult``; backends (the moderngl
``gl`` backend, later Blender) are plug-ins behind this small interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class CameraView:
    """What one camera saw in one frame.

    Attributes:
        camera: camera name.
        rgb: ``(H, W, 3) uint8`` image (grayscale sensors repeat one channel).
        depth: ``(H, W) float32`` metres along the camera's z axis; ``inf`` where nothing was hit.
        mask: ``(H, W) bool`` mouse silhouette.
        parts: ``(H, W) uint8`` body-part ids (0 = background; see ``synthmouse.body.groups.PARTS``).
        keypoints: ``(K, 2) float64`` pixel coordinates (OpenCV convention: centre of the top-left pixel is 0, 0),
            lens distortion applied.
        visible: ``(K,) bool`` inside the image and not occluded.
        names: ``K`` keypoint names (mirror views carry the mirror suffix).
    """

    camera: str
    rgb: np.ndarray
    depth: np.ndarray
    mask: np.ndarray
    parts: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    names: tuple[str, ...]


@dataclass
class FrameResult:
    """Everything rendered for one frame index: one :class:`CameraView` per camera, plus 3D ground truth."""

    index: int
    views: list[CameraView]
    keypoints3d: np.ndarray  # (K, 3) world metres
    keypoint_names: tuple[str, ...]
    # the frame's values for frames.csv (motion, segment, ``FrameDraw.as_params()``), set by the frame source;
    # renderers leave it empty
    params: dict[str, float | int | str] = field(default_factory=dict)


class Renderer(Protocol):
    """The interface a rendering backend implements."""

    def render(self, scene, frame) -> FrameResult:  # pragma: no cover - interface
        ...

    def close(self) -> None:  # pragma: no cover - interface
        ...
