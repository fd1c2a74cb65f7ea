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


_SIDE_WORD = re.compile(r"left|right", re.I)
_SIDE_TOKEN = re.compile(r"(?<![A-Za-z])[lLrR](?![a-z])")  # hip_l, l_hip, L_paw, lPaw, paw_R
_SIDE_LETTER = re.compile(r"(?<=[a-z0-9])[LR](?=[A-Z0-9_-]|$)")  # paw1LH, pawRF, earL (DeepLabCut's names)
_DIGITS = re.compile(r"\d+")
_SWAP = {"l": "r", "r": "l", "L": "R", "R": "L"}


def _swap_word(text: str) -> str:
    other = "right" if text.lower() == "left" else "left"
    if text.isupper():
        return other.upper()
    return other.capitalize() if text[0].isupper() else other


def side_candidates(name: str) -> list[str]:
    """Names that could be ``name``'s other side, most likely first: a ``left``/``right`` word in any case
    (``leftear``, ``left_paw``, ``LeftEar``), a lone ``l``/``r`` token (``hip_l``, ``l_hip``, ``lPaw``), an
    ``L``/``R`` letter inside a token (DeepLabCut's ``paw1LH`` <-> ``paw1RH``, ``paw3RF`` <-> ``paw3LF``)."""
    out: list[str] = []
    for m in _SIDE_WORD.finditer(name):
        out.append(name[: m.start()] + _swap_word(m.group(0)) + name[m.end() :])
    for pattern in (_SIDE_TOKEN, _SIDE_LETTER):
        for m in pattern.finditer(name):
            out.append(name[: m.start()] + _SWAP[m.group(0)] + name[m.end() :])
    return list(dict.fromkeys(c for c in out if c != name))


def mirror_name(name: str) -> str | None:
    """The most likely other side's name (``leftear`` -> ``rightear``, ``left_paw`` -> ``right_paw``, ``hip_l``
    -> ``hip_r``, ``paw1LH`` -> ``paw1RH``, case kept), or None for a midline name."""
    candidates = side_candidates(name)
    return candidates[0] if candidates else None


def parse_flip_pairs(items: Sequence[str] | None) -> list[tuple[str, str]]:
    """``--flip-pairs A=B,C=D`` items (repeated or comma-separated) as ``(A, B)`` pairs."""
    pairs = []
    for item in items or ():
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            a, sep, b = part.partition("=")
            if not sep or not a.strip() or not b.strip():
                raise PoseDataError(f"--flip-pairs {part!r}: give pairs as A=B (e.g. paw1LH=paw1RH)")
            pairs.append((a.strip(), b.strip()))
    return pairs


def flip_pairs(
    names: Sequence[str], explicit: Sequence[tuple[str, str]] = (), fixed: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """The left/right pairs a mirror flip swaps among ``names``: the ``explicit`` pairs first, then the ones the
    naming schemes find (:func:`side_candidates`, a partner only when it is in ``names``; then the same without
    the digits, as DeepLabCut numbers its paws ``paw1LH``, ``paw2LF``, ``paw3RF``, ``paw4RH``). ``fixed``
    keypoints (rig keypoints) are never paired.

    Raises:
        PoseDataError: an explicit pair names an unknown keypoint, a fixed one, or one already paired.
    """
    names = list(names)
    fixed_set, taken = set(fixed), set()
    pairs: list[tuple[str, str]] = []
    for a, b in explicit:
        for n in (a, b):
            if n not in names:
                raise PoseDataError(f"--flip-pairs {a}={b}: no keypoint {n!r}; keypoints: {', '.join(names)}")
            if n in fixed_set:
                raise PoseDataError(f"--flip-pairs {a}={b}: {n!r} is a rig keypoint, which flips never swap")
            if n in taken or a == b:
                raise PoseDataError(f"--flip-pairs {a}={b}: {n!r} is paired twice")
        taken.update((a, b))
        pairs.append((a, b))
    for exact in (True, False):  # then numbered ones: DeepLabCut's paw1LH pairs with paw4RH
        for name in names:
            if name in taken or name in fixed_set:
                continue
            free = [n for n in names if n not in taken and n not in fixed_set and n != name]
            other = _partner(name, free, exact)
            if other is not None:
                taken.update((name, other))
                pairs.append((name, other))
    return pairs


def _partner(name: str, free: Sequence[str], exact: bool) -> str | None:
    """The first side candidate of ``name`` among ``free`` names; not ``exact``: compared without digits, and
    only when one free name matches."""
    for candidate in side_candidates(name):
        if exact and candidate in free:
            return candidate
        if not exact:
            found = [n for n in free if _DIGITS.sub("", n) == _DIGITS.sub("", candidate)]
            if len(found) == 1:
                return found[0]
    return None


def flip_permutation(
    names: Sequence[str], explicit: Sequence[tuple[str, str]] = (), fixed: Sequence[str] = ()
) -> np.ndarray:
    """``(K,) int``: the index each keypoint takes after a mirror flip (the :func:`flip_pairs` swapped; a
    keypoint without a partner maps to itself)."""
    index = {n: j for j, n in enumerate(names)}
    perm = np.arange(len(names))
    for a, b in flip_pairs(names, explicit, fixed):
        perm[index[a]], perm[index[b]] = index[b], index[a]
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
