"""Labelled frames for the pose network: a synthmouse dataset's rows with occluded in-image keypoints, the
training-frame record, left/right pairs.

Real labels (DeepLabCut, SLEAP, Lightning Pose) are read by :func:`synthmouse.io.labels.read_labels` as
:class:`synthmouse.io.labels.LabelledFrames`, the one label type; keypoint names are matched by
:mod:`synthmouse.io.mapping`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..dataset.rows import RowStore
from ..errors import SynthmouseError
from ..io.label_checks import check_label_images
from ..io.labels import LabelledFrames, read_labels

TRAINING_FRAMES_FILE = "training_frames.json"
"""The record, in a model folder, of the frames the model was trained on (:func:`synthmouse.pose.train.
write_training_frames`; read by :func:`synthmouse.pose.evaluate.training_frame_mask`)."""


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PoseDataError(SynthmouseError):
    """Labelled data for the pose network is missing or malformed."""


_SIDE_PATTERNS = (
    (re.compile(r"left", re.I), "left", "right"),
    (re.compile(r"right", re.I), "right", "left"),
    (re.compile(r"(^|_)l($|_)"), "l", "r"),
    (re.compile(r"(^|_)r($|_)"), "r", "l"),
)


def mirror_name(name: str) -> str | None:
    """The other side's name (``leftear`` -> ``rightear``, ``left_paw`` -> ``right_paw``, ``hip_l`` ->
    ``hip_r``, case kept), or None for a midline name."""
    for pattern, this, other in _SIDE_PATTERNS:
        m = pattern.search(name)
        if m:
            text = m.group(0)
            repl = (
                text.replace(this, other)
                if text.islower() or this in ("l", "r")
                else text.replace(this.capitalize(), other.capitalize()).replace(this.upper(), other.upper())
            )
            return name[: m.start()] + repl + name[m.end() :]
    return None


def flip_permutation(names: Sequence[str]) -> np.ndarray:
    """``(K,) int``: the index each keypoint takes after a mirror flip (left/right pairs swapped)."""
    perm = np.arange(len(names))
    for j, name in enumerate(names):
        other = mirror_name(name)
        if other is not None and other in names:
            perm[j] = list(names).index(other)
    return perm


def read_synthmouse_rows(dataset: str | Path, camera: str | None = None) -> LabelledFrames | None:
    """Labels of a synthmouse dataset from its per-frame rows (``.synthmouse/rows``), keeping keypoints that
    project inside the image even when occluded (the body itself hides e.g. the tail base from a top camera,
    where a human labeller would still click it); None when ``dataset`` has no rows.

    DeepLabCut's export holds only visible keypoints; for training a top-down network the occluded-but-in-
    image positions are the better target (they are what human labels mean on real frames). Every image must
    exist and decode (:func:`synthmouse.io.label_checks.check_label_images`).
    """

    root = Path(dataset)
    store = RowStore(root / ".synthmouse" / "rows")
    indices = sorted(store.done())
    if not indices:
        return None
    images, coords, keys, names = [], [], [], None
    for row in store.iter_rows(indices):
        for view in row.views:
            if camera is not None and view.camera != camera:
                continue
            names = names or tuple(view.names)
            xy = np.where(view.in_image[:, None], view.xy, np.nan)
            images.append(root / view.image)
            coords.append(xy)
            keys.append(view.image)
    if not images:
        raise PoseDataError(f"{root}: no rows of camera {camera!r}")
    coords = np.asarray(coords, dtype=np.float64)
    sizes = check_label_images(
        store.folder, keys, names, coords, images, fix="the dataset is damaged: generate it again into a new folder"
    )
    return LabelledFrames(names=names, xy=coords, keys=tuple(keys), images=tuple(images), sizes=sizes, source=str(root))


def read_training_labels(path: str | Path, occluded: bool = True) -> LabelledFrames:
    """A synthmouse dataset's labels with occluded in-image keypoints (``occluded``; see
    :func:`read_synthmouse_rows`), else its label files, checked (:func:`synthmouse.io.labels.read_labels`)."""
    if occluded and Path(path).is_dir():
        data = read_synthmouse_rows(path)
        if data is not None:
            return data
    return read_labels(path, check=True)
