"""Renderers: turn a :class:`synthmouse.scene.build.Scene` and a pose into images with exact ground truth.

The interface is small (``render(scene, frame) -> FrameResult`` and ``close()``, see :mod:`.base`) so backends
are interchangeable: :class:`~synthmouse.render.gl.GLRenderer` (moderngl, headless) now, Blender later. What a
backend shares: :mod:`.visibility` (which keypoints a camera sees, from its rendered depth) and
:mod:`.matrices` (projection maths).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..body import Pose
from .base import CameraView, FrameResult, Renderer


@dataclass(frozen=True)
class FrameState:
    """What changes from frame to frame besides the scene: the input of ``Renderer.render``.

    Attributes:
        index: frame index (kept in the :class:`FrameResult`).
        pose: the body pose with one frame, root in world coordinates (compose motion with
            ``Scene.body_root`` / ``Scene.place`` first).

    A frame's randomized lights, fur colour, body shape and cameras are in the scene it is rendered with
    (:func:`synthmouse.scene.draw.frame_scene`); renderers read nothing else.
    """

    index: int
    pose: Pose


def __getattr__(name: str):
    """``GLRenderer`` is imported on first use, so importing :mod:`synthmouse.render` never needs OpenGL."""
    if name in ("GLRenderer", "GLUnavailableError", "create_context"):
        from . import gl

        return getattr(gl, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CameraView", "FrameResult", "FrameState", "GLRenderer", "GLUnavailableError", "Renderer"]
