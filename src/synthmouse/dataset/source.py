"""Where frames come from: the :class:`FrameSource` interface the generation loop consumes.

A frame source renders frame ``i`` as a function of (scene, seed, i) only, so any process can make any frame
(sharding, resuming). :func:`synthmouse.dataset.scene_source.open_scene_source` builds one from a scene file
with the GL renderer; tests use small fakes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from ..render.base import FrameResult
from .meta import DatasetMeta


@runtime_checkable
class FrameSource(Protocol):
    """Renders frames by index.

    Attributes:
        meta: the dataset description (cameras with image sizes and keypoint names, skeleton edges, fps, scene
        hash).
        seed: the dataset seed, the only one: frame ``i`` is a function of (scene, seed, i); the run identity,
        manifest and splits read it here.
    """

    meta: DatasetMeta
    seed: int

    def render(self, index: int) -> FrameResult:
        """Frame ``index``: one :class:`~synthmouse.render.base.CameraView` per camera of ``meta``, in
        order."""
        ...

    def close(self) -> None:
        """Release the renderer."""
        ...


def write_calibration(source: FrameSource, path: Path) -> bool:
    """Let the source write its Anipose ``calibration.toml`` if it can; return whether it did."""
    writer = getattr(source, "write_calibration", None)
    if writer is None:
        return False
    writer(path)
    return True
