"""Integrity of a finished dataset: its files against ``manifest.json``, its labels against its images.

Two levels:

* :func:`quick_check` (what a rerun of ``generate`` on a finished dataset does before anything else): every
  file the manifest lists exists and has the size the manifest records. One ``stat`` per file, no reading, so
  it takes seconds even for large datasets; it finds deleted and truncated files and most replaced ones.
* :func:`verify_dataset` (``synthmouse verify``): the sha256 of every listed file; the files no manifest lists
  (*extra*: reported, not counted as damage); and, frame by frame from the label rows
  (``.synthmouse/rows``), that every image and ground-truth image decodes to the size its labels say (read
  from the PNG / JPEG header, not decoded), that the labels' image size is the camera's, and that every label
  lies within its image (in-image keypoints inside ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``, visible keypoints in
  the image, the mask's box and run lengths within the image).

Not checked: ``manifest.json`` itself (beyond being readable), the ``.synthmouse`` state folder except the label
rows, ``preview/`` (``synthmouse preview`` writes there) and hidden files (temporary files of a running or
killed run). :func:`repair` removes what a full check found damaged (the rows of damaged frames, damaged
files and the manifest) so that rerunning ``generate`` remakes exactly those.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from .images import image_size
from .layout import PREVIEW_DIR, STATE_DIR, DatasetLayout
from .rows import CameraRow, FrameRow, RowStore, keypoints_in_image
from .state import read_state

Progress = Callable[[str, int, int], None]  # (stage, done, total)
EXAMPLES = 1000  # label problems kept word for word (the rest are counted)
_HEADER_BYTES = 1 << 16  # enough of a PNG or JPEG for its size
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class VerifyReport:
    """What a check found in the dataset at ``root``.

    Attributes:
        quick: ``True`` for :func:`quick_check` (existence and sizes only).
        checked: files of the manifest that were checked.
        missing: listed files that do not exist (relative posix paths).
        changed: listed files whose size (quick) or sha256 (full) differs from the manifest's.
        extra: files the manifest does not list (full check only; not damage).
        labels: label problems, one line each (the first :data:`EXAMPLES`); ``n_labels`` counts them all.
        damaged_frames: frames whose images, ground-truth images or label row are missing, changed or wrong.
        notes: what could not be checked, and why.
    """

    root: Path
    quick: bool
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    n_labels: int = 0
    damaged_frames: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No file missing or changed and no label problem (extra files are allowed)."""
        return not (self.missing or self.changed or self.n_labels)

    def label_problem(self, frame: int | None, text: str) -> None:
        self.n_labels += 1
        if len(self.labels) < EXAMPLES:
            self.labels.append(text)
        if frame is not None:
            self.damaged_frames.add(frame)

    def summary(self, examples: int = 3) -> str:
        """One line: counts of each kind of damage with the first few paths."""
        parts = [
            _counted(len(self.missing), "file", "missing", self.missing, examples),
            _counted(len(self.changed), "file", "changed size" if self.quick else "changed", self.changed, examples),
            _counted(self.n_labels, "label problem", "", self.labels, min(examples, 1)),
        ]
        found = "; ".join(p for p in parts if p)
        return found or f"{self.checked} files intact"


def _counted(n: int, noun: str, state: str, items: list[str], examples: int) -> str:
    if not n:
        return ""
    shown = ", ".join(items[:examples]) + (", ..." if n > examples else "")
    return f"{n} {noun}{'s' if n != 1 else ''}{' ' + state if state else ''} ({shown})"


# ----------------------------------------------------------------------------------------------------- manifest
def read_manifest(root: str | Path) -> dict[str, Any]:
    """The manifest of the finished dataset in ``root``; :class:`OutputError` when there is none (an
    unfinished dataset, or not a dataset) or it cannot be read."""
    root = Path(root)
    path = root / "manifest.json"
    if not path.is_file():
        state = read_state(DatasetLayout(root, 1)) if (root / STATE_DIR).is_dir() else None
        if state is None:
            raise OutputError(f"{root}: not a synthmouse dataset (no manifest.json); give a dataset folder")
        identity = state[0]
        done = sum(1 for i in RowStore(DatasetLayout(root, 1).rows_dir).done() if i < identity.n_frames)
        raise OutputError(
            f"{path}: missing; the dataset is not finished ({done} of {identity.n_frames} frames generated): "
            "rerun the generate command to finish it"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, dict):
            raise TypeError(f"'files' is a {type(files).__name__}, expected a mapping")
    except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise OutputError(
            f"{path}: unreadable manifest ({exc}); the dataset cannot be verified: delete manifest.json and rerun "
            "the generate command to write it again"
        ) from exc
    return data


def quick_check(root: str | Path, manifest: dict[str, Any] | None = None) -> VerifyReport:
    """Existence and size (as the manifest records them) of every file the manifest lists: one ``stat`` per
    file, nothing read. A manifest written before sizes were recorded gets the existence check only."""
    root = Path(root)
    manifest = read_manifest(root) if manifest is None else manifest
    sizes = manifest.get("sizes") or {}
    report = VerifyReport(root, quick=True)
    for rel in manifest["files"]:
        report.checked += 1
        try:
            size = os.stat(root / rel).st_size
        except FileNotFoundError:
            report.missing.append(rel)
            continue
        except NotADirectoryError:
            report.missing.append(rel)
            continue
        if rel in sizes and int(sizes[rel]) != size:
            report.changed.append(rel)
    if not sizes:
        report.notes.append("the manifest records no file sizes (older synthmouse): only existence checked")
    return report


# ------------------------------------------------------------------------------------------------- full check
def verify_dataset(root: str | Path, progress: Progress | None = None) -> VerifyReport:
    """Check every file of the finished dataset in ``root`` against its manifest (sha256), list extra files,
    and check the labels against the images (see the module docstring). Raises :class:`OutputError` only when
    the dataset cannot be verified at all (no or unreadable manifest)."""
    root = Path(root)
    manifest = read_manifest(root)
    listed: dict[str, str] = dict(manifest["files"])
    report = VerifyReport(root, quick=False)
    total = len(listed)
    layout = DatasetLayout(root, 1)
    state = None
    try:
        state = read_state(layout)
    except OutputError as exc:
        report.notes.append(f"labels not checked: {exc}")
    remaining = dict(listed)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress and (done % 256 == 0 or done == total):
            progress("verify", done, total)

    rows = layout.rows_dir
    if state is None and not report.notes:
        report.notes.append(f"labels not checked: {layout.state_file.relative_to(root).as_posix()} is missing")
    elif state is not None and not rows.is_dir():
        report.notes.append(f"labels not checked: {rows.relative_to(root).as_posix()} is missing")
        state = None
    if state is not None:
        identity, meta = state
        store = RowStore(rows)
        cameras = {c.name: c for c in meta.cameras}
        for index in range(identity.n_frames):
            try:
                row = store.read(index)
            except OutputError as exc:
                report.label_problem(index, str(exc))
                continue
            if [v.camera for v in row.views] != list(cameras):
                report.label_problem(
                    index,
                    f"frame {index}: label row has cameras "
                    f"{[v.camera for v in row.views]}, the dataset {list(cameras)}",
                )
            for view in row.views:
                for rel in [view.image, *(path for path, _ in view.files.values())]:
                    if rel not in remaining:
                        if rel not in listed:
                            report.label_problem(index, f"{rel}: frame {index}'s file is not in the manifest")
                        continue
                    intact, size = _check_file(root, rel, remaining.pop(rel), report)
                    tick()
                    if not intact:
                        report.damaged_frames.add(index)
                    elif size is not None and size != (view.width, view.height):
                        report.label_problem(
                            index,
                            f"{rel}: the image is {size[0]} x {size[1]} pixels, its labels say "
                            f"{view.width} x {view.height}",
                        )
                _check_view(row, view, cameras, report)
    for rel, sha in remaining.items():
        _check_file(root, rel, sha, report)
        tick()
    report.extra = _extra_files(root, listed)
    return report


def _check_file(root: Path, rel: str, sha: str, report: VerifyReport) -> tuple[bool, tuple[int, int] | None]:
    """Hash one listed file against ``sha``, recording it missing or changed. Returns whether it is intact and,
    for an intact PNG or JPEG, its ``(width, height)`` from the header (``None`` otherwise)."""
    report.checked += 1
    digest = hashlib.sha256()
    head = b""
    try:
        with open(root / rel, "rb") as fh:
            while block := fh.read(1 << 20):
                if not head:
                    head = block[:_HEADER_BYTES]
                digest.update(block)
    except (FileNotFoundError, NotADirectoryError):
        report.missing.append(rel)
        return False, None
    except OSError as exc:
        report.changed.append(rel)
        report.notes.append(f"{rel}: unreadable ({exc.strerror or exc})")
        return False, None
    if digest.hexdigest() != sha:
        report.changed.append(rel)
        return False, None
    return True, image_size(head) if rel.lower().endswith(_IMAGE_SUFFIXES) else None


def _check_view(row: FrameRow, view: CameraRow, cameras: dict, report: VerifyReport) -> None:
    """The labels of one camera in one frame against the camera's image size."""
    i, w, h = row.index, int(view.width), int(view.height)
    where = f"frame {i}, camera {view.camera}"
    cam = cameras.get(view.camera)
    if cam is None:
        report.label_problem(i, f"{where}: no such camera in the dataset ({', '.join(cameras)})")
        return
    if (w, h) != (cam.width, cam.height):
        report.label_problem(i, f"{where}: labels are for a {w} x {h} image, the camera is {cam.width} x {cam.height}")
    xy = np.asarray(view.xy, dtype=np.float64).reshape(-1, 2)
    in_image = np.asarray(view.in_image, dtype=bool).reshape(-1)
    visible = np.asarray(view.visible, dtype=bool).reshape(-1)
    if not (len(xy) == len(in_image) == len(visible) == len(view.names)):
        report.label_problem(
            i, f"{where}: {len(view.names)} keypoint names but {len(xy)} positions, {len(visible)} visibility flags"
        )
        return
    inside = keypoints_in_image(xy, w, h)
    bad = np.flatnonzero((in_image | visible) & ~inside)
    if len(bad):
        k = int(bad[0])
        report.label_problem(
            i,
            f"{where}: keypoint {view.names[k]} at ({xy[k, 0]:.2f}, {xy[k, 1]:.2f}) is "
            f"labelled in the image but lies outside {w} x {h}" + (f" ({len(bad)} keypoints)" if len(bad) > 1 else ""),
        )
    if np.any(visible & ~in_image):
        report.label_problem(i, f"{where}: keypoints labelled visible but not in the image")
    x, y, bw, bh = (int(v) for v in view.bbox)
    if min(x, y, bw, bh) < 0 or x + bw > w or y + bh > h:
        report.label_problem(i, f"{where}: mask box {[x, y, bw, bh]} is not inside the {w} x {h} image")
    if view.rle and sum(view.rle) != w * h:
        report.label_problem(i, f"{where}: the mask's run lengths cover {sum(view.rle)} pixels, the image {w * h}")


def _extra_files(root: Path, listed: dict[str, str]) -> list[str]:
    """Files under ``root`` the manifest does not list (skipping the manifest, the state folder, previews and
    hidden files)."""
    extra = []
    for folder, dirs, files in os.walk(root):
        rel_folder = Path(folder).relative_to(root)
        top = rel_folder == Path(".")
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (top and d == PREVIEW_DIR))
        for name in sorted(files):
            rel = (rel_folder / name).as_posix()
            if rel not in listed and rel != "manifest.json" and not name.startswith("."):
                extra.append(rel)
    return extra


# --------------------------------------------------------------------------------------------------- repair
def repair(report: VerifyReport) -> tuple[list[str], list[int]]:
    """Remove what a full check found damaged so that rerunning ``generate`` remakes it: the label rows of the
    damaged frames (their images are rendered again), the damaged files that are not frame images (label
    files and tables are written again at the end) and ``manifest.json`` (the dataset is unfinished until
    then). Extra files are left alone. Returns the removed files and the frames to render again."""
    if report.quick:
        raise ValueError("repair needs the report of a full check (verify_dataset)")
    root = report.root
    layout = DatasetLayout(root, 1)
    if read_state(layout) is None or not layout.rows_dir.is_dir():
        raise OutputError(
            f"{root}: cannot repair without its run state ({layout.rows_dir.relative_to(root).as_posix()}): "
            "generate the dataset again in a new folder"
        )
    removed: list[str] = []
    frames = sorted(report.damaged_frames)
    store = RowStore(layout.rows_dir)
    for i in frames:
        with contextlib.suppress(FileNotFoundError):
            store.path(i).unlink()
    for rel in report.changed:
        with contextlib.suppress(FileNotFoundError):
            (root / rel).unlink()
            removed.append(rel)
    with contextlib.suppress(FileNotFoundError):
        (root / "manifest.json").unlink()
        removed.append("manifest.json")
    return removed, frames
