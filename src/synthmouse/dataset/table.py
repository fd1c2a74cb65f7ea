"""The merged label table of a finished dataset: compact numeric arrays built from the per-frame rows.

Exporters read a :class:`Dataset` (layout, metadata, identity, splits and this table); the few that need
per-frame extras (the COCO masks, the parameter table) stream the rows again one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import OutputError
from .layout import DatasetLayout
from .meta import DatasetMeta
from .rows import FrameRow, RowStore
from .state import RunIdentity, read_state


@dataclass
class LabelTable:
    """2D and 3D labels of all frames, over the union of body parts (``meta.bodyparts``, ``B`` of them).

    Attributes:
        xy: ``(N, C, B, 2) float64`` pixel coordinates; NaN where the camera has no such keypoint.
        visible: ``(N, C, B) bool`` inside the image and not occluded.
        in_image: ``(N, C, B) bool`` inside the image (occluded or not).
        bbox: ``(N, C, 4) int64`` mask bounding boxes ``[x, y, w, h]`` (COCO corner coordinates).
        area: ``(N, C) int64`` mask areas in pixels.
        keypoints3d: ``(N, K, 3) float64`` world metres (``meta.keypoint_names``).
        segments: ``N`` motion-segment ids; motions: ``N`` motion-generator names.
        images: ``C`` lists of ``N`` image paths relative to the dataset root; image_sha256: their digests.
        label_files: ground-truth image path (relative to the root) -> sha256, every frame and camera.
    """

    xy: np.ndarray
    visible: np.ndarray
    in_image: np.ndarray
    bbox: np.ndarray
    area: np.ndarray
    keypoints3d: np.ndarray
    segments: list[str]
    motions: list[str]
    images: list[list[str]]
    image_sha256: list[list[str]]
    label_files: dict[str, str] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return self.xy.shape[0]

    @classmethod
    def from_rows(cls, meta: DatasetMeta, rows: list[FrameRow] | object, n_frames: int) -> LabelTable:
        """Build the table from ``n_frames`` rows (any iterable of :class:`FrameRow`, in frame order)."""
        cams = [c.name for c in meta.cameras]
        parts = {name: b for b, name in enumerate(meta.bodyparts)}
        C, B, K = len(cams), len(parts), len(meta.keypoint_names)
        xy = np.full((n_frames, C, B, 2), np.nan)
        visible = np.zeros((n_frames, C, B), bool)
        in_image = np.zeros((n_frames, C, B), bool)
        bbox = np.zeros((n_frames, C, 4), np.int64)
        area = np.zeros((n_frames, C), np.int64)
        kp3d = np.full((n_frames, K, 3), np.nan)
        segments, motions = [], []
        images: list[list[str]] = [[] for _ in cams]
        shas: list[list[str]] = [[] for _ in cams]
        label_files: dict[str, str] = {}
        for n, row in enumerate(rows):
            if row.index != n:
                raise OutputError(f"label rows out of order: found frame {row.index} at position {n}")
            by_cam = {v.camera: v for v in row.views}
            for c, cam in enumerate(cams):
                view = by_cam.get(cam)
                if view is None:
                    raise OutputError(f"frame {row.index}: no label row for camera {cam!r}")
                cols = np.array([parts[name] for name in view.names], dtype=np.int64)
                xy[n, c, cols] = view.xy
                visible[n, c, cols] = view.visible
                in_image[n, c, cols] = view.in_image
                bbox[n, c] = view.bbox
                area[n, c] = view.area
                images[c].append(view.image)
                shas[c].append(view.sha256)
                label_files.update({path: sha for path, sha in view.files.values()})
            kp3d[n, : len(row.keypoints3d)] = row.keypoints3d
            segments.append(row.segment)
            motions.append(str(row.params.get("motion", "")))
        return cls(xy, visible, in_image, bbox, area, kp3d, segments, motions, images, shas, label_files)


@dataclass
class Dataset:
    """A dataset folder whose frames are all generated: what every exporter reads."""

    layout: DatasetLayout
    identity: RunIdentity
    meta: DatasetMeta
    splits: dict[str, np.ndarray]

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def n_frames(self) -> int:
        return self.identity.n_frames

    @cached_property
    def rows(self) -> RowStore:
        return RowStore(self.layout.rows_dir)

    @cached_property
    def table(self) -> LabelTable:
        return LabelTable.from_rows(self.meta, self.rows.iter_rows(range(self.n_frames)), self.n_frames)

    def split_of_frames(self) -> list[str]:
        """``N`` split names, one per frame."""
        out = [""] * self.n_frames
        for name, idx in self.splits.items():
            for i in idx:
                out[int(i)] = name
        return out


def open_dataset(root: str | Path) -> tuple[DatasetLayout, RunIdentity, DatasetMeta]:
    """Layout, identity and metadata of the dataset in ``root`` (raises :class:`OutputError` if none)."""
    root = Path(root)
    probe = DatasetLayout(root, 1)
    state = read_state(probe)
    if state is None:
        raise OutputError(f"{root}: not a synthmouse dataset (no {probe.state_file.relative_to(root)})")
    identity, meta = state
    layout = DatasetLayout(root, identity.n_frames, "jpg" if identity.image_format == "jpg" else "png")
    return layout, identity, meta
