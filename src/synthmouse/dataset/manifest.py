"""``splits.json`` and ``manifest.json``: deterministic JSON (sorted keys, no timestamps)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_open, sha256_of
from .images import DEPTH_MAX
from .layout import PREVIEW_DIR, STATE_DIR
from .splits import GAP, SPLIT_NAMES
from .table import Dataset

MANIFEST_VERSION = 2  # 2: format_version and sizes (bytes of every file, for the quick check of a rerun)


def _write_json(path: Path, data: Any) -> Path:
    with atomic_open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True, allow_nan=False)
        fh.write("\n")
    return path


def write_splits(dataset: Dataset) -> Path:
    """``splits.json``: frames and segments of each split, and the matching row indices for DeepLabCut."""
    segments = dataset.table.segments
    dlc = dlc_split_indices(dataset)
    splits = {s: np.asarray(dataset.splits.get(s, ()), dtype=np.int64) for s in (*SPLIT_NAMES, GAP)}
    data = {
        "by": "motion segment; gap: frames of a segment cut between two splits, in no split",
        "seed": dataset.identity.seed,
        "frames": {s: idx.tolist() for s, idx in splits.items()},
        "segments": {s: sorted({segments[i] for i in idx}) for s, idx in splits.items()},
        "deeplabcut": {
            "note": "row positions in DeepLabCut's merged, sorted label table: pass as "
            "deeplabcut.create_training_dataset(config, trainIndices=[train], testIndices=[test])",
            "trainIndices": dlc.get("train", []),
            "testIndices": dlc.get("test", []),
            "valIndices": dlc.get("val", []),
        },
    }
    return _write_json(dataset.layout.splits, data)


def dlc_split_indices(dataset: Dataset) -> dict[str, list[int]]:
    """Row positions of each split in DLC's merged table (sessions sorted, then images), for
    ``deeplabcut.create_training_dataset(config, trainIndices=..., testIndices=...)``."""
    split_of = dataset.split_of_frames()
    order = sorted(
        (dataset.layout.session(cam.name), i, split_of[i])
        for cam in dataset.meta.cameras
        for i in range(dataset.n_frames)
    )
    out: dict[str, list[int]] = {}
    for position, (_, _, split) in enumerate(order):
        out.setdefault(split, []).append(position)
    return out


def dataset_files(dataset: Dataset) -> dict[str, str]:
    """sha256 of every file of the dataset (posix paths relative to the root), except the manifest, the state
    folder and previews.

    Image digests (frames and ground-truth images) come from the label rows (computed when the images were
    written).
    """
    root = dataset.root
    images = {
        rel: sha
        for paths, shas in zip(dataset.table.images, dataset.table.image_sha256, strict=True)
        for rel, sha in zip(paths, shas, strict=True)
    }
    images.update(dataset.table.label_files)
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        rel_folder = Path(folder).relative_to(root)
        dirs[:] = sorted(d for d in dirs if not (rel_folder == Path(".") and d in (STATE_DIR, PREVIEW_DIR)))
        for name in files:
            rel = (rel_folder / name).as_posix()
            if rel == "manifest.json" or name.startswith("."):
                continue
            out[rel] = images.get(rel) or sha256_of(Path(folder) / name)
    return dict(sorted(out.items()))


def ground_truth_description(dataset: Dataset) -> dict[str, Any]:
    """What the per-camera ground-truth images of the dataset hold (only the kinds it has)."""
    layout = dataset.layout
    where = {
        k: layout.label_image_rel(k, "<camera>", 0).replace("0" * layout.digits, "<frame>")
        for k in dataset.meta.label_images
    }
    described = {
        "depth": {
            "files": where.get("depth"),
            "format": "PNG, 1 channel, uint16",
            "unit": "mm",
            "value": "depth along the camera's z axis (not the distance to the camera centre), rounded; "
            "in a mirror, the apparent depth of the reflection",
            "no_hit": 0,
            "max": DEPTH_MAX,
            "clipped": f"hits nearer than 1 mm read 1, farther than {DEPTH_MAX} mm read {DEPTH_MAX}",
        },
        "mask": {
            "files": where.get("mask"),
            "format": "PNG, 1 channel, uint8",
            "value": "255 where the mouse is seen (mirror reflections included), 0 elsewhere",
        },
        "parts": {
            "files": where.get("parts"),
            "format": "PNG, 1 channel, uint8",
            "value": "body-part id, 0 = background",
            "legend": layout.parts_legend.relative_to(layout.root).as_posix(),
        },
    }
    return {k: described[k] for k in dataset.meta.label_images}


def write_manifest(dataset: Dataset, formats: tuple[str, ...], options) -> Path:
    """``manifest.json``: versions (manifest, dataset format, package), scene hash, seed, options, counts and
    every file's sha256 and size in bytes."""
    identity, meta, table = dataset.identity, dataset.meta, dataset.table
    root, files = dataset.root, dataset_files(dataset)
    cams = list(enumerate(c.name for c in meta.cameras))
    data = {
        "manifest_version": MANIFEST_VERSION,
        "format_version": identity.format_version,
        "synthmouse_version": identity.synthmouse_version,
        "scene": {"name": identity.scene_name, "sha256": identity.scene_hash},
        "seed": identity.seed,
        "frames": identity.n_frames,
        "fps": meta.fps,
        "image_format": identity.image_format,
        "jpeg_quality": identity.jpeg_quality,
        "formats": list(formats),
        "video": bool(getattr(options, "video", False)),
        "cameras": [{"name": c.name, "width": c.width, "height": c.height} for c in meta.cameras],
        "keypoints": list(meta.keypoint_names),
        "bodyparts": list(meta.bodyparts),
        "skeleton": [list(e) for e in meta.edges],
        "provenance": meta.extra,
        "counts": {
            "frames": identity.n_frames,
            "images": identity.n_frames * len(meta.cameras),
            "segments": len(set(table.segments)),
            "splits": {s: int(len(dataset.splits[s])) for s in SPLIT_NAMES},
            "keypoints_visible": {name: int(table.visible[:, k].sum()) for k, name in cams},
            "keypoints_in_image": {name: int(table.in_image[:, k].sum()) for k, name in cams},
            "mouse_in_view": {name: int(np.count_nonzero(table.area[:, k])) for k, name in cams},
        },
        "ground_truth": ground_truth_description(dataset),
        "files": files,
        "sizes": {rel: os.stat(root / rel).st_size for rel in files},
    }
    return _write_json(dataset.layout.manifest, data)
