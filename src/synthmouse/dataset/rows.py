"""Per-frame label rows: the neutral on-disk form every exporter converts from.

A frame's row holds, per camera, the 2D keypoints (OpenCV pixels), their visibility, whether they fall inside
the image, the mouse's bounding box, area and run-length-encoded mask, the image file with its sha256 and the
ground-truth image files (depth, mask, parts) with theirs;
plus the 3D keypoints and every randomized value of the frame. Rows are small JSON files, one per frame,
written atomically *after* the frame's images: a row on disk means the frame is complete (this is what makes
runs resumable).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from ..fileio import atomic_open
from ..render.base import CameraView, FrameResult

ROW_VERSION = 1


@dataclass
class CameraRow:
    """Labels of one camera in one frame.

    Attributes:
        camera: camera name.
        image: image path relative to the dataset root (posix separators).
        sha256: hex digest of the image file.
        width, height: image size in pixels.
        names: ``K`` keypoint names of this camera.
        xy: ``(K, 2) float64`` pixel coordinates (OpenCV convention; may be outside the image or NaN).
        visible: ``(K,) bool`` inside the image and not occluded.
        in_image: ``(K,) bool`` finite and inside ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``.
        bbox: ``(4,) int`` ``[x, y, w, h]`` of the mask in COCO's corner coordinates (zeros when empty).
        area: number of mask pixels.
        rle: COCO uncompressed run-length encoding of the mask (column-major counts, starting with zeros).
        files: ground-truth images written for this view: kind (``depth``, ``mask``, ``parts``) -> ``(path
            relative to the root, sha256)``.
    """

    camera: str
    image: str
    sha256: str
    width: int
    height: int
    names: tuple[str, ...]
    xy: np.ndarray
    visible: np.ndarray
    in_image: np.ndarray
    bbox: tuple[int, int, int, int]
    area: int
    rle: list[int]
    files: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def coco_visibility(self) -> np.ndarray:
        """``(K,) int`` COCO flags: 2 visible, 1 inside the image but occluded, 0 outside the image."""
        return np.where(self.visible, 2, np.where(self.in_image, 1, 0)).astype(np.int64)


@dataclass
class FrameRow:
    """Everything exported about one frame (see :class:`CameraRow`); ``keypoints3d`` is ``(K, 3)`` world
    metres."""

    index: int
    views: list[CameraRow]
    keypoints3d: np.ndarray
    keypoint_names: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def segment(self) -> str:
        """The motion segment this frame belongs to (``params['segment']``; the frame itself when absent)."""
        return str(self.params.get("segment", f"frame{self.index}"))


# ---------------------------------------------------------------------------------------------------- masks
def mask_to_rle(mask: np.ndarray) -> list[int]:
    """COCO uncompressed RLE of a ``(H, W) bool`` mask: run lengths over the column-major pixels, zeros
    first."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] else runs


def rle_to_mask(rle: list[int], height: int, width: int) -> np.ndarray:
    """Inverse of :func:`mask_to_rle`: ``(H, W) bool``."""
    values = np.arange(len(rle)) % 2 == 1
    flat = np.repeat(values, rle)
    if flat.size != height * width:
        raise ValueError(f"RLE covers {flat.size} pixels, expected {height} x {width}")
    return flat.reshape((height, width), order="F")


def mask_bbox(mask: np.ndarray) -> tuple[tuple[int, int, int, int], int]:
    """``([x, y, w, h], area)`` of a ``(H, W) bool`` mask in COCO's corner coordinates (``x`` = first
    column)."""
    mask = np.asarray(mask, dtype=bool)
    area = int(mask.sum())
    if area == 0:
        return (0, 0, 0, 0), 0
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    return (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)), area


def keypoints_in_image(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(K, 2)`` pixels to ``(K,) bool``: finite and inside ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``."""
    xy = np.asarray(xy, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(xy).all(axis=-1)
            & (xy[..., 0] >= -0.5)
            & (xy[..., 0] < width - 0.5)
            & (xy[..., 1] >= -0.5)
            & (xy[..., 1] < height - 0.5)
        )


def camera_row(view: CameraView, image: str, sha256: str, files: dict[str, tuple[str, str]] | None = None) -> CameraRow:
    """The label row of one rendered view whose image was saved as ``image`` (relative path) and its
    ground-truth images as ``files`` (kind -> (relative path, sha256))."""
    height, width = view.rgb.shape[:2]
    xy = np.asarray(view.keypoints, dtype=np.float64).reshape(-1, 2)
    in_image = keypoints_in_image(xy, width, height)
    visible = np.asarray(view.visible, dtype=bool).reshape(-1) & in_image
    bbox, area = mask_bbox(view.mask)
    return CameraRow(
        camera=view.camera,
        image=image,
        sha256=sha256,
        width=int(width),
        height=int(height),
        names=tuple(view.names),
        xy=xy,
        visible=visible,
        in_image=in_image,
        bbox=bbox,
        area=area,
        rle=mask_to_rle(view.mask),
        files=dict(files or {}),
    )


def frame_row(result: FrameResult, views: list[CameraRow]) -> FrameRow:
    """The label row of a rendered frame, given the rows of its saved views."""
    return FrameRow(
        index=int(result.index),
        views=views,
        keypoints3d=np.asarray(result.keypoints3d, dtype=np.float64).reshape(-1, 3),
        keypoint_names=tuple(result.keypoint_names),
        params={str(k): _plain(v) for k, v in result.params.items()},
    )


def _plain(value: Any) -> Any:
    """A JSON-friendly Python scalar/list for a parameter value (numpy types converted)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------------- JSON
def _floats(array: np.ndarray) -> list:
    return [[None if not math.isfinite(v) else v for v in row] for row in np.asarray(array, float).tolist()]


def _unfloats(rows: list, width: int) -> np.ndarray:
    values = [[np.nan if v is None else v for v in row] for row in rows]
    return np.array(values, dtype=np.float64).reshape(-1, width)


def row_to_json(row: FrameRow) -> dict[str, Any]:
    """JSON-serializable dict of a row (floats keep full precision; non-finite coordinates become
    ``null``)."""
    return {
        "version": ROW_VERSION,
        "index": row.index,
        "keypoint_names": list(row.keypoint_names),
        "keypoints3d": _floats(row.keypoints3d),
        "params": row.params,
        "views": [
            {
                "camera": v.camera,
                "image": v.image,
                "sha256": v.sha256,
                "width": v.width,
                "height": v.height,
                "names": list(v.names),
                "xy": _floats(v.xy),
                "visible": v.visible.astype(int).tolist(),
                "in_image": v.in_image.astype(int).tolist(),
                "bbox": list(v.bbox),
                "area": v.area,
                "rle": v.rle,
                "files": {k: {"path": path, "sha256": sha} for k, (path, sha) in v.files.items()},
            }
            for v in row.views
        ],
    }


def row_from_json(data: dict[str, Any]) -> FrameRow:
    """Inverse of :func:`row_to_json`."""
    views = [
        CameraRow(
            camera=v["camera"],
            image=v["image"],
            sha256=v["sha256"],
            width=int(v["width"]),
            height=int(v["height"]),
            names=tuple(v["names"]),
            xy=_unfloats(v["xy"], 2),
            visible=np.array(v["visible"], dtype=bool),
            in_image=np.array(v["in_image"], dtype=bool),
            bbox=tuple(int(b) for b in v["bbox"]),
            area=int(v["area"]),
            rle=list(v["rle"]),
            files={k: (f["path"], f["sha256"]) for k, f in v.get("files", {}).items()},
        )
        for v in data["views"]
    ]
    return FrameRow(
        index=int(data["index"]),
        views=views,
        keypoints3d=_unfloats(data["keypoints3d"], 3),
        keypoint_names=tuple(data["keypoint_names"]),
        params=dict(data["params"]),
    )


class RowStore:
    """A folder of per-frame row files ``<index>.json`` (zero-padded), each written atomically."""

    def __init__(self, folder: str | Path, digits: int = 8):
        self.folder = Path(folder)
        self.digits = digits

    def path(self, index: int) -> Path:
        return self.folder / f"{index:0{self.digits}d}.json"

    def has(self, index: int) -> bool:
        return self.path(index).is_file()

    def write(self, row: FrameRow) -> None:
        with atomic_open(self.path(row.index), "w", encoding="utf-8") as fh:
            json.dump(row_to_json(row), fh, sort_keys=True, separators=(",", ":"))

    def read(self, index: int) -> FrameRow:
        path = self.path(index)
        try:
            with open(path, encoding="utf-8") as fh:
                return row_from_json(json.load(fh))
        except FileNotFoundError:
            raise OutputError(f"{path}: label row of frame {index} is missing; rerun the generate command") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise OutputError(f"{path}: corrupt label row of frame {index} ({exc}); delete it and rerun") from exc

    def done(self) -> set[int]:
        """Indices of all frames with a row on disk."""
        if not self.folder.is_dir():
            return set()
        out = set()
        for entry in os.scandir(self.folder):
            stem, dot, ext = entry.name.partition(".")
            if ext == "json" and dot and stem.isdigit():
                out.add(int(stem))
        return out

    def iter_rows(self, indices: Iterable[int]) -> Iterator[FrameRow]:
        """Rows in the given order, read one at a time (constant memory)."""
        for i in indices:
            yield self.read(i)
