"""The points file: where known rig points appear in the video (read for the fit, written by ``--propose`` and
``--click``)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from synthmouse.fileio import atomic_open
from synthmouse.io.yamlio import load_yaml

from .errors import CameraFitError
from .features import CornerProposal
from .scene_edit import format_value


@dataclass(frozen=True)
class Correspondences:
    """Known 3D points and where they appear in the image.

    Attributes:
        names: ``N`` names.
        world: ``(N, 3) float64`` metres.
        pixels: ``(N, 2) float64`` OpenCV pixel coordinates (centre of the top-left pixel is 0, 0).
        image_size: ``(width, height)`` if the file gives it.
    """

    names: list[str]
    world: np.ndarray
    pixels: np.ndarray
    image_size: tuple[int, int] | None = None


Entry = tuple[str, list | None, list]
"""One point as written: name, world coordinates (None: a rig point) and pixel."""


def load_correspondences(
    path: str | Path, rig_points: Mapping[str, np.ndarray] | None = None, rig: str | None = None
) -> Correspondences:
    """Read a points file: YAML ``points: {name: [u, v] | {world: [x, y, z], pixel: [u, v]}}`` (optional
    ``image_size: [w, h]``), or CSV with a header ``name,u,v[,x,y,z]``. Names without world coordinates are
    looked up in ``rig_points`` (the points of the ``rig`` type named in the error for an unknown name)."""
    path = Path(path)
    if not path.is_file():
        raise CameraFitError(f"{path}: points file not found")
    if path.suffix.lower() == ".csv":
        entries, image_size = _csv_entries(path), None
    else:
        entries, image_size = _yaml_entries(path)
    rig_points = dict(rig_points or {})
    names, world, pixels = [], [], []
    for name, w, p in entries:
        pixels.append(_pixel(path, name, p))
        world.append(_world(path, name, w, rig_points, rig))
        names.append(name)
    if not names:
        raise CameraFitError(f"{path}: no points")
    return Correspondences(names, np.array(world), np.array(pixels), image_size)


def _csv_entries(path: Path) -> list[Entry]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"name", "u", "v"} - set(reader.fieldnames or [])
        if missing:
            raise CameraFitError(f"{path}: CSV header needs name,u,v[,x,y,z]; missing {sorted(missing)}")
        entries: list[Entry] = []
        for row in reader:
            world = [row["x"], row["y"], row["z"]] if row.get("x") not in (None, "") else None
            entries.append((row["name"], world, [row["u"], row["v"]]))
    return entries


def _yaml_entries(path: Path) -> tuple[list[Entry], tuple[int, ...] | None]:
    data = load_yaml(path, error=CameraFitError, what="points file") or {}
    if not isinstance(data, dict) or not isinstance(data.get("points"), dict):
        raise CameraFitError(f"{path}: expected a mapping with 'points: {{name: [u, v], ...}}'")
    unknown = sorted(set(data) - {"points", "image_size", "image", "notes", "rig"})
    if unknown:
        raise CameraFitError(f"{path}: unknown key(s) {unknown}; allowed: points, image_size, image, notes, rig")
    image_size = tuple(int(v) for v in data["image_size"]) if data.get("image_size") is not None else None
    entries: list[Entry] = []
    for name, value in data["points"].items():
        if not isinstance(value, dict):
            entries.append((str(name), None, value))
            continue
        extra = sorted(set(value) - {"world", "pixel"})
        if extra or "pixel" not in value:
            raise CameraFitError(
                f"{path}: points.{name}: expected {{world: [x, y, z], pixel: [u, v]}}, got keys {sorted(value)}"
            )
        entries.append((str(name), value.get("world"), value["pixel"]))
    return entries, image_size


def _pixel(path: Path, name: str, value: object) -> np.ndarray:
    try:
        return np.array(value, dtype=np.float64).reshape(2)
    except (TypeError, ValueError):
        raise CameraFitError(f"{path}: points.{name}: pixel {value!r} is not two numbers [u, v]") from None


def _world(
    path: Path, name: str, value: object, rig_points: Mapping[str, np.ndarray], rig: str | None = None
) -> np.ndarray:
    if value is None:
        if name not in rig_points:
            raise CameraFitError(f"{path}: points.{name}: no world coordinates and {_unknown_point(rig, rig_points)}")
        return np.asarray(rig_points[name], dtype=np.float64)
    try:
        return np.array(value, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise CameraFitError(f"{path}: points.{name}: world {value!r} is not three numbers") from None


def _unknown_point(rig: str | None, rig_points: Mapping[str, np.ndarray]) -> str:
    """Why a name without world coordinates is unknown, listing the names that would do."""
    if rig is None and not rig_points:
        return "not a rig point; rig points: none (no rig given: --scene or --rig-size)"
    if not rig_points:
        return f"not a rig point: the {rig} rig defines no named points; give it as {{world: [x, y, z], pixel: [u, v]}}"
    what = f"the {rig} rig's points" if rig is not None else "rig points"
    return f"not a rig point ({what}: {', '.join(rig_points)})"


def write_points_file(
    path: str | Path,
    proposal: CornerProposal,
    image_size: tuple[int, int],
    source: str,
    world: Mapping[str, Sequence[float]] | None = None,
    overlay: str | Path | None = None,
) -> Path:
    """Write the proposal as a ``fit-camera`` points file with a comment header saying what each point is and
    how to check and edit it (atomically)."""
    path = Path(path)
    explain = {
        "floor_nw": "north-west",
        "floor_ne": "north-east",
        "floor_se": "south-east",
        "floor_sw": "south-west",
    }
    lines = [
        "# Rig points for `synthmouse fit-camera`: where known points of the rig appear in the video.",
        "# PROPOSED by `synthmouse fit-camera --propose` from the frame named in 'image' below. CHECK THEM before",
        f"# fitting: open {overlay or 'the overlay PNG'} and see that each red cross sits exactly where the floor",
        "# meets the walls at its corner (the insets show each corner magnified). Wrong? Edit its [u, v]: pixels,",
        "# u to the right, v down, the centre of the top-left pixel is (0, 0), as in OpenCV and DeepLabCut.",
        "# Delete a line to leave a point out (4 or more are needed). Other known points can be added as",
        "#   my_mark: {world: [x, y, z], pixel: [u, v]}   (world metres: x east, y north, z up, origin at the",
        "#   arena centre on the floor).",
        "# The names are the openfield rig's inner floor corners (north = +y, east = +x in the scene's world);",
        f"# named by {proposal.naming}.",
        f"image: {format_value(source)}",
        f"image_size: [{int(image_size[0])}, {int(image_size[1])}]",
        "points:",
    ]
    entries = [f"  {name}: [{u:.2f}, {v:.2f}]" for name, (u, v) in proposal.points.items()]
    column = max(len(e) for e in entries) + 3
    for entry, name in zip(entries, proposal.points, strict=True):
        comment = explain.get(name, "")
        if world is not None and name in world:
            x, y, z = (float(c) for c in world[name])
            comment += f" inner floor corner, world ({x:+.3f}, {y:+.3f}, {z:.3f}) m"
        lines.append(f"{entry:<{column}}# {comment.strip()}" if comment.strip() else entry)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def write_clicked_points(path: str | Path, points: Mapping[str, tuple[float, float]], size: tuple[int, int]) -> Path:
    """Write clicked points ``{name: (u, v)}`` as a points file with the image size (atomically)."""
    path = Path(path)
    data = {
        "image_size": list(size),
        "points": {k: [round(u, 2), round(v, 2)] for k, (u, v) in points.items()},
    }
    with atomic_open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False, default_flow_style=None)
    return path
