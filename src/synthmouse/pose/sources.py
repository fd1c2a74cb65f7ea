"""Training sources from a synthetic dataset folder (its ``splits.json``) and optional real labelled frames."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import SynthmouseError
from ..io.labels import LabelledFrames, read_labels
from ..io.mapping import match_keypoints, no_match_message, parse_mapping
from .labels import read_training_labels
from .train import Source

SPLITS = ("train", "train+val", "all")


def frame_number(path: Path) -> int:
    """The frame index in an image name (``img00042.png`` -> 42)."""
    digits = re.findall(r"\d+", Path(path).stem)
    if not digits:
        raise SynthmouseError(f"{path}: no frame number in the image name")
    return int(digits[-1])


def split_rows(data: LabelledFrames, folder: Path, split: str) -> LabelledFrames:
    """Rows of a synthmouse dataset in ``split`` (train, train+val or all) by its ``splits.json``; all rows when
    there is no such file."""
    if split not in SPLITS:
        raise SynthmouseError(f"--split {split!r}: allowed {', '.join(SPLITS)}")
    file = folder / "splits.json"
    if split == "all" or not file.is_file():
        return data
    frames = json.loads(file.read_text())["frames"]
    keep = set(frames["train"]) | (set(frames["val"]) if split == "train+val" else set())
    rows = [i for i, p in enumerate(data.images) if frame_number(p) in keep]
    if not rows:
        raise SynthmouseError(f"{file}: the {split} split selects no labelled frame")
    return data.subset(rows)


def pick_frames(n_total: int, n: int, seed: int) -> np.ndarray:
    """``n`` distinct row indices of ``n_total`` (sorted), drawn with ``seed``; all when ``n`` is 0 or more."""
    if n <= 0 or n >= n_total:
        return np.arange(n_total)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    return np.sort(rng.choice(n_total, size=n, replace=False))


def map_real_names(
    real: LabelledFrames,
    real_path: str | Path,
    synth_names: Sequence[str],
    synth_path: str | Path,
    mapping: Sequence[str] | None,
) -> tuple[LabelledFrames, list[tuple[str, str]]]:
    """``real`` with its keypoints renamed to the synthetic names they match, and the pairs ``(real name,
    synthetic name)``: ``mapping`` items ``REAL=SYNTHETIC`` first, then the automatic matching that ``report``
    uses too (:func:`synthmouse.io.mapping.match_keypoints`). Real keypoints without a match are
    left out.

    Raises:
        LabelError: a ``--map`` entry names a keypoint that the real labels or the synthetic set lack (the message
            lists the ones they have), or has its names on the wrong sides (the message shows the reverse).
        SynthmouseError: no keypoint in common.
    """
    real_what, synth_what = f"the real labels {real_path}", f"the synthetic set {synth_path}"
    pairs = match_keypoints(real.names, synth_names, parse_mapping(mapping), real_what, synth_what)
    if not pairs:
        raise SynthmouseError(no_match_message(real.names, synth_names, real_what, synth_what))
    renamed = real.reorder([r for r, _ in pairs]).renamed(dict(pairs))
    return renamed, pairs


def dataset_sources(
    dataset: Path,
    split: str = "train",
    real_labels: Path | None = None,
    n_real: int = 0,
    real_share: float = 0.5,
    mapping: Sequence[str] | None = None,
    seed: int = 0,
) -> list[Source]:
    """The synthetic set (``split`` rows) and, with ``real_labels``, ``n_real`` real frames (``REAL=SYNTHETIC``
    ``mapping`` items, else automatic name matching) taking ``real_share`` of the batches; the real source
    carries ``real=True`` and its name ``pairs``."""
    synth = read_training_labels(dataset)
    folder = Path(dataset) if Path(dataset).is_dir() else Path(dataset).parent
    synth = split_rows(synth, folder, split)
    if real_labels is None:
        if mapping:
            raise SynthmouseError(
                "--map names keypoint pairs between --real-labels and the synthetic set; "
                "give --real-labels too, or leave --map out"
            )
        return [Source(synth, 1.0)]
    if not 0.0 < real_share < 1.0:
        raise SynthmouseError(f"--real-share {real_share}: must be between 0 and 1 (exclusive)")
    real, pairs = map_real_names(read_labels(real_labels, check=True), real_labels, synth.names, dataset, mapping)
    real = real.subset(pick_frames(len(real), n_real, seed))
    return [
        Source(synth, 1.0 - real_share),
        Source(real.reorder(synth.names), real_share, real=True, pairs=tuple(pairs)),
    ]
