"""Renderers: turn a :class:`synthmouse.scene.build.Scene` and a pose into images with exact ground truth.

The interface is small (``render(scene, frame) -> FrameResult`` and ``close()``, see :mod:`.base`) so backends
are interchangeable: :class:`~synthmouse.render.gl.GLRenderer` (moderngl, headless) now, Blender later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..body import Pose
from .base import CameraView, FrameResult, Renderer


@dataclass
class FrameState:
    """What changes from frame to frame: the input of ``Renderer.render``.

    Attributes:
        index: frame index (kept in the :class:`FrameResult`).
        pose: the body pose with one frame, root in world coordinates (compose motion with
            ``Scene.body_root`` / ``Scene.place`` first).
        params: randomized values drawn for this frame (recorded in ``FrameResult.params``); renderers
            honour the ``light.*`` and ``body.fur_albedo_scale`` keys (see
            :mod:`synthmouse.appearance.randomize`), the others pass through.
        cameras: per-frame cameras (e.g. jittered copies of the scene's); None uses ``scene.cameras``.
    """

    index: int
    pose: Pose
    params: dict[str, float | int | str] = field(default_factory=dict)
    cameras: list | None = None


def __getattr__(name: str):
    """``GLRenderer`` is imported on first use, so importing :mod:`synthmouse.render` never needs OpenGL."""
    if name in ("GLRenderer", "GLUnavailableError", "create_context"):
        from . import gl

        return getattr(gl, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CameraView", "FrameResult", "FrameState", "GLRenderer", "GLUnavailableError", "Renderer"]
