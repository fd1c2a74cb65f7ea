"""The pose loop on any view: augmentation chosen from the camera's view (top, below, side, oblique) or by option,
one crop per view for images that hold several views (a camera view and a mirror view stacked in one image), and
rig keypoints (points on a joystick, a lever, an obstacle) kept apart from the body's flip pairs.

Views of one image are pixel regions (``--views NAME:X0,Y0,X1,Y1``) or keypoint names ending in a view suffix
(``nose`` and ``nose_mirror``: views ``main`` and ``mirror``). Each region is cropped and trained as its own
sample (keypoints outside it are unlabelled for it); the network predicts one heatmap per *channel* (the name with
the view suffix taken off, so ``nose`` and ``nose_mirror`` share one), and prediction runs per region and merges
back to full-image coordinates under the labels' names.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..io.labels import LabelledFrames
from .labels import PoseDataError

VIEW_KINDS = ("top", "below", "side", "oblique")
TOP_COS = float(np.cos(np.radians(25.0)))  # optical axis within 25 deg of straight down: a top view
SIDE_COS = float(np.sin(np.radians(20.0)))  # within 20 deg of horizontal: a side view
ROTATION_BY_VIEW = {"top": 180.0, "below": 180.0, "side": 15.0, "oblique": 30.0}
DEFAULT_SCALE = (0.8, 1.25)
MAIN_VIEW = "main"
_NOT_VIEW_SUFFIXES = {"l", "r", "left", "right", "x", "y", "tip", "base", "root", "mid", "front", "back"}
RIG_METADATA_KEY = "rig_keypoints"
"""The key of a synthetic dataset's ``manifest.json`` ``provenance`` (the dataset metadata's ``extra``) that lists
its rig keypoint names."""


# ------------------------------------------------------------------------------------------- view of a camera
def view_kind(rotation: np.ndarray) -> str:
    """``top``, ``below``, ``side`` or ``oblique`` for a camera of world-to-camera ``rotation (3, 3)`` in a
    z-up world: a camera looking down the world z axis is a top view, one looking up a view from below, one
    looking horizontally a side view."""
    axis = np.asarray(rotation, dtype=np.float64)[2]  # the optical axis in world coordinates
    down = float(-axis[2] / max(np.linalg.norm(axis), 1e-12))
    if down >= TOP_COS:
        return "top"
    if down <= -TOP_COS:
        return "below"
    return "side" if abs(down) <= SIDE_COS else "oblique"


def dataset_view_kinds(folder: str | Path) -> dict[str, str]:
    """``{camera name: view kind}`` of a synthetic dataset from its ``calibration.toml`` (Anipose layout);
    empty when there is none."""
    file = Path(folder) / "calibration.toml"
    if not file.is_file():
        return {}
    try:
        tables = tomllib.loads(file.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    kinds = {}
    for key, table in tables.items():
        if isinstance(table, dict) and "rotation" in table:
            rotation, _ = cv2.Rodrigues(np.asarray(table["rotation"], dtype=np.float64))
            kinds[str(table.get("name", key))] = view_kind(rotation)
    return kinds


def common_view(kinds: Sequence[str]) -> str | None:
    """The one view kind of several cameras; for a mix, the one with the smallest rotation range (side before
    oblique before top/below); None for none."""
    kinds = [k for k in kinds if k in ROTATION_BY_VIEW]
    if not kinds:
        return None
    return min(kinds, key=lambda k: (ROTATION_BY_VIEW[k], VIEW_KINDS.index(k)))


def dataset_rig_keypoints(folder: str | Path) -> tuple[str, ...]:
    """The rig keypoint names a synthetic dataset's metadata marks (``manifest.json`` ``provenance`` key
    :data:`RIG_METADATA_KEY`); empty when it marks none."""
    file = Path(folder) / "manifest.json"
    if not file.is_file():
        return ()
    try:
        provenance = json.loads(file.read_text()).get("provenance") or {}
    except (OSError, ValueError, AttributeError):
        return ()
    names = provenance.get(RIG_METADATA_KEY) or ()
    return tuple(str(n) for n in names) if isinstance(names, list | tuple) else ()


# ------------------------------------------------------------------------------------------- augmentation
@dataclass(frozen=True)
class Augmentation:
    """The geometric augmentation of the cropper: rotation range (+- degrees), scale range, mirror flips; the view
    it was chosen for and by what (``camera``, ``option`` or ``default``)."""

    rotation_deg: float = 180.0
    scale_range: tuple[float, float] = DEFAULT_SCALE
    flip: bool = True
    view: str = "unknown"
    chosen_by: str = "default"

    def to_dict(self) -> dict:
        return {
            "rotation_deg": self.rotation_deg,
            "scale_range": list(self.scale_range),
            "flip": self.flip,
            "view": self.view,
            "chosen_by": self.chosen_by,
        }

    def describe(self) -> str:
        """One line, e.g. ``side view (camera): rotation +-15 deg, scale 0.8-1.25, flips off``."""
        lo, hi = self.scale_range
        flips = "on" if self.flip else "off"
        return (
            f"{self.view} view ({self.chosen_by}): rotation +-{self.rotation_deg:g} deg, scale {lo:g}-{hi:g}, "
            f"flips {flips}"
        )


def augmentation_for(
    view: str | None,
    has_pairs: bool,
    rotation: float | None = None,
    scale: tuple[float, float] | None = None,
    flip: bool | None = None,
) -> Augmentation:
    """The augmentation for a camera ``view``: top and below views +-180 deg rotation and flips; side views +-15
    deg and oblique ones +-30 deg, flipped only where left/right pairs exist (``has_pairs``); an unknown view
    gets the top-view default. ``rotation``, ``scale`` and ``flip`` override.

    Raises:
        PoseDataError: a rotation outside 0-180 deg or a bad scale range.
    """
    known = view in ROTATION_BY_VIEW
    base_rotation = ROTATION_BY_VIEW[view] if known else 180.0
    base_flip = has_pairs if view in ("side", "oblique") else True
    overridden = rotation is not None or scale is not None or flip is not None
    if rotation is not None and not 0.0 <= rotation <= 180.0:
        raise PoseDataError(f"--rotation {rotation:g}: give a range in degrees between 0 and 180")
    if scale is not None and not 0.0 < scale[0] <= scale[1]:
        raise PoseDataError(f"--scale {scale[0]:g},{scale[1]:g}: give LO,HI with 0 < LO <= HI")
    return Augmentation(
        rotation_deg=float(base_rotation if rotation is None else rotation),
        scale_range=tuple(float(v) for v in (scale or DEFAULT_SCALE)),  # type: ignore[arg-type]
        flip=bool(base_flip if flip is None else flip),
        view=view if known else "unknown",
        chosen_by="option" if overridden else ("camera" if known else "default"),
    )


def parse_scale(text: str | None) -> tuple[float, float] | None:
    """``--scale LO,HI`` as ``(lo, hi)``; None for None."""
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise PoseDataError(f"--scale {text!r}: give LO,HI, e.g. 0.8,1.25") from None
    return lo, hi


# ------------------------------------------------------------------------------------------- views of an image
@dataclass(frozen=True)
class ViewRegion:
    """One view of an image: its ``name``, pixel ``box`` ``(x0, y0, x1, y1)`` (x1, y1 exclusive; None: the whole
    image) and ``channels``: ``(label name, channel name)`` pairs of the keypoints it holds."""

    name: str
    box: tuple[int, int, int, int] | None
    channels: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict:
        return {"name": self.name, "box": None if self.box is None else list(self.box), "channels": self.channels}

    @classmethod
    def from_dict(cls, data: dict) -> ViewRegion:
        box = data.get("box")
        return cls(
            str(data["name"]),
            None if box is None else tuple(int(v) for v in box),  # type: ignore[arg-type]
            tuple((str(a), str(b)) for a, b in data["channels"]),
        )


def parse_views(items: Sequence[str] | None) -> list[tuple[str, tuple[int, int, int, int] | None]]:
    """``--views`` items: ``NAME:X0,Y0,X1,Y1`` (a pixel region) or ``NAME`` (its region from the labels of the
    keypoints named with the suffix ``_NAME``), space- or comma-separated; ``auto`` alone: views from the naming
    (:func:`suffix_views`), returned as ``[("auto", None)]``."""
    out: list[tuple[str, tuple[int, int, int, int] | None]] = []
    for item in items or ():
        for part in re.split(r"\s+", str(item).strip()):
            if not part:
                continue
            name, sep, box = part.partition(":")
            if not name:
                raise PoseDataError(f"--views {part!r}: give NAME:X0,Y0,X1,Y1 or NAME")
            if not sep:
                out.append((name, None))
                continue
            try:
                x0, y0, x1, y1 = (int(round(float(v))) for v in box.split(","))
            except ValueError:
                raise PoseDataError(f"--views {part!r}: give the region as NAME:X0,Y0,X1,Y1 (pixels)") from None
            if x1 <= x0 or y1 <= y0:
                raise PoseDataError(f"--views {part!r}: the region is empty (need X1 > X0 and Y1 > Y0)")
            out.append((name, (x0, y0, x1, y1)))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise PoseDataError(f"--views: a view name is given twice ({', '.join(names)})")
    return out


def suffix_views(names: Sequence[str]) -> dict[str, list[str]]:
    """Views from keypoint naming: a suffix ``_S`` counts as a view when at least two names carry it and their
    stems also appear bare or with another view suffix (``nose``/``nose_mirror``, ``paw_top``/``paw_bottom``);
    side and part words (``_l``, ``_left``, ``_tip``, digits) never do. Names without a view suffix form the view
    :data:`MAIN_VIEW`. ``{view: label names}``; one view when the naming shows none."""
    stems: dict[str, list[tuple[str, str]]] = {}
    for n in names:
        stem, sep, suffix = n.rpartition("_")
        if sep and stem and suffix.lower() not in _NOT_VIEW_SUFFIXES and not suffix.isdigit():
            stems.setdefault(suffix, []).append((stem, n))
    all_stems = {n: n for n in names}
    suffixes = []
    for suffix, items in stems.items():
        shared = [s for s, _ in items if s in all_stems or any(s in [t for t, _ in o] for o in _others(stems, suffix))]
        if len(items) >= 2 and len(shared) >= 2:
            suffixes.append(suffix)
    views: dict[str, list[str]] = {}
    for n in names:
        suffix = n.rpartition("_")[2] if "_" in n else ""
        views.setdefault(suffix if suffix in suffixes else MAIN_VIEW, []).append(n)
    return views


def _others(stems: dict[str, list[tuple[str, str]]], suffix: str) -> list[list[tuple[str, str]]]:
    return [v for k, v in stems.items() if k != suffix]


def view_regions(
    data: LabelledFrames, specs: Sequence[tuple[str, tuple[int, int, int, int] | None]], pad: float = 0.25
) -> tuple[ViewRegion, ...]:
    """The views of ``data``'s images for ``--views`` ``specs`` (:func:`parse_views`): a keypoint named with the
    suffix ``_VIEW`` belongs to that view only (its channel: the name without the suffix); other keypoints belong
    to every view with a pixel region (labels outside a region are unlabelled for it) or, when no view has one, to
    the view :data:`MAIN_VIEW`. A view without a region gets the box of its keypoints' labels over all frames,
    padded by ``pad`` of its size and clipped to the image.

    Raises:
        PoseDataError: a view holds no keypoint.
    """
    if list(specs) == [("auto", None)]:
        groups = suffix_views(data.names)
        if len(groups) < 2:
            raise PoseDataError(
                f"--views auto: the keypoint names show no view suffix (e.g. nose and nose_mirror); keypoints: "
                f"{', '.join(data.names)}; give the regions as --views NAME:X0,Y0,X1,Y1"
            )
        specs = [(v, None) for v in groups]
    view_names = [n for n, _ in specs]
    suffixed = {n: v for n in data.names for v in view_names if v != MAIN_VIEW and n.endswith("_" + v)}
    with_box = any(box is not None for _, box in specs)
    regions = []
    for view, box in specs:
        own = {n: n[: -len(view) - 1] for n in data.names if suffixed.get(n) == view}
        if with_box or view == MAIN_VIEW or not own:
            taken = set(own.values())
            own.update({n: n for n in data.names if n not in suffixed and n not in taken})
        channels = tuple((n, own[n]) for n in data.names if n in own)
        if not channels:
            raise PoseDataError(f"--views: view {view!r} holds no keypoint (names: {', '.join(data.names)})")
        regions.append(ViewRegion(view, box if box is not None else labels_box(data, list(own), pad), channels))
    return tuple(regions)


def labels_box(data: LabelledFrames, names: Sequence[str], pad: float) -> tuple[int, int, int, int]:
    """The box ``(x0, y0, x1, y1)`` of the labels of ``names`` over all frames, padded by ``pad`` of its larger
    side (at least 8 px) and clipped to the largest image."""
    xy = data.reorder(names).xy.reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(-1)]
    if not len(xy):
        raise PoseDataError(f"--views: no labels of {', '.join(names)} to place their view")
    lo, hi = xy.min(0), xy.max(0)
    margin = max(8.0, pad * float((hi - lo).max()))
    w, h = image_extent(data)
    x0, y0 = np.maximum(np.floor(lo - margin), 0).astype(int)
    x1, y1 = np.ceil(hi + margin + 1).astype(int)
    return int(x0), int(y0), int(min(x1, w)), int(min(y1, h))


def image_extent(data: LabelledFrames) -> tuple[int, int]:
    """The largest ``(width, height)`` of ``data``'s images (read from the first image when sizes are unknown)."""
    if data.sizes is not None and len(data.sizes):
        return int(np.max(data.sizes[:, 0])), int(np.max(data.sizes[:, 1]))
    image = cv2.imread(str(data.images[0]), cv2.IMREAD_GRAYSCALE) if data.images else None
    if image is None:
        raise PoseDataError("--views: cannot read an image to size the views")
    return image.shape[1], image.shape[0]


def channel_names(regions: Sequence[ViewRegion]) -> tuple[str, ...]:
    """The network's channels of ``regions``, in first-seen order."""
    return tuple(dict.fromkeys(c for r in regions for _, c in r.channels))


def output_names(regions: Sequence[ViewRegion]) -> tuple[str, ...]:
    """The label names the views predict, in first-seen order."""
    return tuple(dict.fromkeys(n for r in regions for n, _ in r.channels))


def split_views(data: LabelledFrames, regions: Sequence[ViewRegion]) -> tuple[LabelledFrames, np.ndarray]:
    """One sample per frame and view: ``(samples, boxes (N * V, 4) int)``, the samples' keypoints in the
    channels' order and in region pixels (labels outside the region: NaN); a view without a box spans the
    image (``-1`` in ``boxes``)."""
    channels = channel_names(regions)
    index = {c: k for k, c in enumerate(channels)}
    parts, boxes = [], []
    for region in regions:
        xy = np.full((len(data), len(channels), 2), np.nan)
        for label, channel in region.channels:
            if label in data.names:
                xy[:, index[channel]] = data.xy[:, data.names.index(label)]
        box = region.box or (-1, -1, -1, -1)
        if region.box is not None:
            x0, y0, x1, y1 = region.box
            inside = (xy[..., 0] >= x0) & (xy[..., 0] <= x1 - 1) & (xy[..., 1] >= y0) & (xy[..., 1] <= y1 - 1)
            xy = np.where(inside[..., None], xy - (x0, y0), np.nan)
        sizes = None
        if region.box is not None:
            sizes = np.tile([box[2] - box[0], box[3] - box[1]], (len(data), 1))
        elif data.sizes is not None:
            sizes = data.sizes
        parts.append(
            LabelledFrames(
                names=channels,
                xy=xy,
                keys=tuple(f"{k}@{region.name}" for k in data.keys),
                images=data.images,
                sizes=sizes,
                source=data.source,
            )
        )
        boxes += [box] * len(data)
    sizes_known = all(p.sizes is not None for p in parts)
    merged = LabelledFrames(
        names=channels,
        xy=np.concatenate([p.xy for p in parts]) if parts else np.zeros((0, len(channels), 2)),
        keys=tuple(k for p in parts for k in p.keys),
        images=tuple(i for p in parts for i in p.images),
        sizes=np.concatenate([p.sizes for p in parts]) if sizes_known and parts else None,
        source=data.source,
    )
    return merged, np.asarray(boxes, dtype=np.int64).reshape(-1, 4)


def crop_box(image: np.ndarray, box: Sequence[int] | None) -> np.ndarray:
    """``image`` cut to ``box`` ``(x0, y0, x1, y1)`` (None or ``-1`` values: the whole image)."""
    if box is None or int(box[0]) < 0:
        return image
    x0, y0, x1, y1 = (int(v) for v in box)
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def merge_views(
    regions: Sequence[ViewRegion], channels: Sequence[str], per_view: Sequence[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Full-image ``(xy (B, K, 2), confidence (B, K))`` in :func:`output_names` order from each view's
    ``(xy (B, C, 2), confidence (B, C))`` in region pixels: a label name predicted by several views takes the
    most confident one per frame."""
    outputs = output_names(regions)
    index = {c: k for k, c in enumerate(channels)}
    n = len(per_view[0][0]) if per_view else 0
    xy = np.full((n, len(outputs), 2), np.nan)
    conf = np.full((n, len(outputs)), -1.0)
    for region, (vxy, vconf) in zip(regions, per_view, strict=True):
        offset = np.zeros(2) if region.box is None else np.array(region.box[:2], dtype=np.float64)
        for label, channel in region.channels:
            j, c = outputs.index(label), index[channel]
            better = vconf[:, c] > conf[:, j]
            xy[better, j] = vxy[better, c] + offset
            conf[better, j] = vconf[better, c]
    return xy, np.clip(conf, 0.0, None)
