"""One validation of a labelled image set (human labels in DeepLabCut's layout) before anything uses it.

:func:`synthmouse.io.labels.read_labels` (used by ``synthmouse report``, ``train``, ``evaluate``, ``predict``,
``benchmark-sim2real`` and ``scene like``) hands the rows of every label file to :func:`validate_label_rows`,
which checks:

* values: each x, y is empty (NaN: unlabelled) or a finite number of magnitude below :data:`MAX_COORDINATE`;
  x and y are labelled together;
* at least one keypoint of the file is labelled;
* images: every labelled image exists (all missing ones are counted and the first named), decodes, and holds
  its labels: a label more than :func:`box_margin` outside the image (pixel centres 0 ... W-1, as in OpenCV
  and DeepLabCut) is an error that says the images may be of another size than the labels were made on.

Messages are one line naming the label file, the row (``line N`` of a CSV file, ``row N`` of an HDF5 table,
counting data rows from 1) with its image, the keypoint column, the bad value and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import SynthmouseError

MAX_COORDINATE = 1e5
"""Largest magnitude accepted for a label coordinate in pixels (no camera image is this large)."""


class LabelError(SynthmouseError):
    """A labelled image set is unusable: bad values, no labels, missing, corrupt or wrongly sized images."""


def box_margin(size: int) -> float:
    """Pixels a label may lie outside an image side of ``size`` pixels: 2 % of the side, at least 2 px (a click
    on the image border)."""
    return max(2.0, 0.02 * float(size))


def row_place(file: str | Path, index: int, key: str | None = None, first_line: int | None = None) -> str:
    """Where data row ``index`` (0-based) of a label file is: ``FILE, line N (KEY)`` for a CSV file whose first
    data row is line ``first_line`` (1-based), else ``FILE, row N (KEY)`` counting data rows from 1."""
    return f"{file}, {_row_word(index, first_line)}" + (f" ({key})" if key else "")


def _row_word(index: int, first_line: int | None) -> str:
    return f"line {first_line + index}" if first_line is not None else f"row {index + 1}"


def check_label_values(
    file: str | Path, keys: Sequence[str], names: Sequence[str], xy: np.ndarray, first_line: int | None = None
) -> None:
    """Label values of one file: finite (or empty) and below :data:`MAX_COORDINATE`, x and y together, and at
    least one keypoint labelled.

    Args:
        file: the label file (for messages).
        keys: ``(N,)`` row names (image paths or frame numbers).
        names: ``(K,)`` keypoint names.
        xy: ``(N, K, 2) float`` coordinates, NaN where unlabelled.
        first_line: the CSV line of the first data row (1-based), None for a table without lines (HDF5).

    Raises:
        LabelError: the first bad value (file, row, keypoint column, value, what is allowed), a keypoint with x
            but no y (or the reverse), or a file without any labelled keypoint.
    """
    xy = np.asarray(xy, dtype=np.float64)
    empty = np.isnan(xy)
    with np.errstate(invalid="ignore"):
        bad = ~empty & ~(np.abs(xy) < MAX_COORDINATE)
    if bad.any():
        i, k, c = (int(v) for v in np.argwhere(bad)[0])
        raise LabelError(
            f"{row_place(file, i, keys[i], first_line)}: {names[k]} {'xy'[c]} = {xy[i, k, c]:g} is "
            f"not a pixel coordinate ({int(bad.sum())} such values in the file); allowed: a finite "
            f"number of magnitude below {MAX_COORDINATE:g}, or empty for an unlabelled keypoint"
        )
    half = empty.any(-1) & ~empty.all(-1)
    if half.any():
        i, k = (int(v) for v in np.argwhere(half)[0])
        have, lack = ("x", "y") if empty[i, k, 1] else ("y", "x")
        raise LabelError(
            f"{row_place(file, i, keys[i], first_line)}: {names[k]} has {have} = "
            f"{xy[i, k, 'xy'.index(have)]:g} but no {lack}; label both coordinates or neither"
        )
    if not (~empty).all(-1).any():
        raise LabelError(
            f"no labelled keypoints in {file}: every x, y of its {len(keys)} rows and "
            f"{len(names)} keypoints ({', '.join(map(str, names))}) is empty; label some frames "
            "or remove the file"
        )


def read_image(path: str | Path):
    """``(H, W) uint8`` grayscale decoded from ``path``, or None when it cannot be decoded."""
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        return None
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def decode_images(
    paths: Sequence[Path], on_image: Callable[[Path, np.ndarray], None] | None = None
) -> tuple[np.ndarray, list[int]]:
    """Decode every image (in threads): ``(sizes (N, 2) int (width, height), 0 where unreadable; indices of the
    unreadable ones)``. ``on_image(path, gray)`` sees each decoded image (in the calling thread, in order)."""
    sizes = np.zeros((len(paths), 2), dtype=np.int64)
    bad: list[int] = []
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, image in enumerate(pool.map(read_image, paths)):
            if image is None or image.size == 0:
                bad.append(i)
                continue
            sizes[i] = image.shape[1], image.shape[0]
            if on_image is not None:
                on_image(Path(paths[i]), image)
    return sizes, bad


def check_label_images(
    file: str | Path,
    keys: Sequence[str],
    names: Sequence[str],
    xy: np.ndarray,
    images: Sequence[Path],
    first_line: int | None = None,
    on_image: Callable[[Path, np.ndarray], None] | None = None,
    fix: str | None = None,
) -> np.ndarray:
    """The images of one label file's rows: all exist, decode and hold their labels.

    Args:
        file, keys, names, xy, first_line: as for :func:`check_label_values`.
        images: ``(N,)`` the image of each row.
        on_image: called as ``on_image(path, gray)`` with each decoded image (e.g. to fill a cache).
        fix: what the messages about missing or corrupt images advise (default: put the images next to the
            label file, replace a corrupt one, or remove their rows).

    Returns:
        ``(N, 2) int`` image sizes (width, height).

    Raises:
        LabelError: missing images (their count and the first few with their rows), an image that does not
            decode, or labels outside their image (file, row, keypoint, value, image size).
    """
    xy = np.asarray(xy, dtype=np.float64)
    images = [Path(p) for p in images]
    missing = [i for i, p in enumerate(images) if not p.is_file()]
    if missing:
        shown = ", ".join(f"{images[i].name} ({_row_word(i, first_line)})" for i in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise LabelError(
            f"{file}: {len(missing)} of {len(images)} labelled images not found in "
            f"{images[missing[0]].parent}: {shown}{more}; "
            f"{fix or 'put the images next to the label file or remove their rows'}"
        )
    sizes, bad = decode_images(images, on_image)
    if bad:
        i = bad[0]
        more = f" ({len(bad)} images of this file do not decode)" if len(bad) > 1 else ""
        raise LabelError(
            f"{images[i]}: cannot decode this image (corrupt, truncated or not an image; labelled in "
            f"{row_place(file, i, keys[i], first_line)}){more}; "
            f"{fix or 'replace it or remove its row'}"
        )
    margin = np.array([[box_margin(w), box_margin(h)] for w, h in sizes]).reshape(-1, 1, 2)
    lo = -0.5 - margin
    hi = sizes.reshape(-1, 1, 2) - 0.5 + margin
    with np.errstate(invalid="ignore"):
        outside = np.isfinite(xy) & ((xy < lo) | (xy > hi))
    if outside.any():
        i, k, c = (int(v) for v in np.argwhere(outside)[0])
        rows = int(outside.any(axis=(1, 2)).sum())
        w, h = (int(v) for v in sizes[i])
        with np.errstate(invalid="ignore"):
            reach = np.nanmax(np.where(np.isfinite(xy), xy, np.nan).reshape(-1, 2), axis=0)
        raise LabelError(
            f"{row_place(file, i, keys[i], first_line)}: {names[k]} {'xy'[c]} = {xy[i, k, c]:g} is "
            f"outside its image {images[i].name} ({w} x {h} px; allowed {'xy'[c]} from {lo[i, 0, c]:g} to "
            f"{hi[i, 0, c]:g}); {rows} of {len(images)} rows have labels outside their image, which "
            f"reach x = {reach[0]:g}, y = {reach[1]:g}: were the labels made on images of another "
            "size?"
        )
    return sizes


def validate_label_rows(
    file: str | Path,
    keys: Sequence[str],
    names: Sequence[str],
    xy: np.ndarray,
    images: Sequence[Path] | None = None,
    first_line: int | None = None,
    on_image: Callable[[Path, np.ndarray], None] | None = None,
) -> np.ndarray | None:
    """All checks of one label file's rows (see the module docstring): :func:`check_label_values`, then with
    ``images`` (the image of each row) :func:`check_label_images`.

    Returns:
        ``(N, 2) int`` image sizes (width, height), or None without ``images``.

    Raises:
        LabelError: the first problem found, as one line.
    """
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 3 or xy.shape[-1] != 2 or len(keys) != len(xy) or xy.shape[1] != len(names):
        raise LabelError(
            f"{file}: labels of shape {xy.shape} for {len(keys)} rows and {len(names)} keypoints; "
            "expected (rows, keypoints, 2)"
        )
    check_label_values(file, keys, names, xy, first_line)
    if images is None:
        return None
    if len(images) != len(keys):
        raise LabelError(f"{file}: {len(images)} images for {len(keys)} label rows")
    return check_label_images(file, keys, names, xy, images, first_line, on_image)


def check_names(
    requested: Sequence[str], available: Sequence[str], what: str, option: str = "--map", form: str = "REAL=SYNTHETIC"
) -> None:
    """Every name in ``requested`` is one of ``available`` (``what``: e.g. ``"the real labels (FILE)"``).

    Raises:
        LabelError: ``{option}: NAME is not a keypoint column of WHAT; its columns are ...``.
    """
    unknown = [n for n in requested if n not in available]
    if unknown:
        plural = "are not keypoint columns" if len(unknown) > 1 else "is not a keypoint column"
        raise LabelError(
            f"{option}: {', '.join(map(str, unknown))} {plural} of {what}; its columns are "
            f"{', '.join(map(str, available)) or 'none'} (the form is {form})"
        )


__all__ = [
    "LabelError",
    "MAX_COORDINATE",
    "box_margin",
    "check_label_images",
    "check_label_values",
    "check_names",
    "decode_images",
    "read_image",
    "row_place",
    "validate_label_rows",
]
