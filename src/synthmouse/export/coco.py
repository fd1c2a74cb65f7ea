"""COCO keypoints JSON: ``coco/annotations.json`` (all images) and ``coco/{train,val,test}.json``.

* one image entry per (frame, camera); ``file_name`` relative to the dataset folder;
* one annotation per image that shows the mouse: ``keypoints`` as ``[x, y, v] * K`` with ``v = 2`` visible,
  ``v = 1`` labelled but occluded (inside the image), ``v = 0`` outside the image (then ``x = y = 0``);
  coordinates are OpenCV pixel coordinates (the centre of the top-left pixel is 0, 0), as COCO keypoints are
  pixel indices;
* ``area`` and ``segmentation`` from the rendered mask (``pycocotools.mask.area`` of the mask, which is
  COCO uncompressed RLE); ``bbox`` ``[x, y, w, h]`` is the mask's box (``pycocotools.mask.toBbox``) grown to hold
  every labelled keypoint (``v > 0``) under both readings tools make of COCO keypoints -- as continuous
  coordinates (mmpose) and as pixel indices, ``+ 0.5`` (detectron2) -- i.e. the pixel ``[floor(x),
  floor(x + 0.5) + 1)`` of each keypoint, clipped to the image; a top-down model cropping the box sees every
  labelled keypoint;
* one category ``mouse`` with ``keypoints`` (names), ``skeleton`` (1-based index pairs, as COCO) and
  ``kpt_oks_sigmas`` (one per keypoint, ``data/oks_sigmas.yaml`` or the scene's ``metadata.oks_sigmas``) for
  keypoint evaluation: ``COCOeval(gt, dt, "keypoints")`` with ``params.kpt_oks_sigmas`` set to them;
* ``info.year`` / ``date_created``: the date of the scene's ``metadata.session_start_time`` (not the clock, so
  the file is reproducible).

Written as a stream (one row file read at a time), so memory does not grow with the number of frames.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np

from .. import __version__
from ..dataset.splits import SPLIT_NAMES
from ..dataset.table import Dataset
from ..fileio import atomic_open

FOLDER = "coco"
CATEGORY_ID = 1


class CocoExporter:
    name = "coco"
    description = "COCO keypoints JSON"

    def missing(self) -> str | None:
        return None

    def export(self, dataset: Dataset) -> list[Path]:
        folder = dataset.root / FOLDER
        targets = {"all": folder / "annotations.json"} | {s: folder / f"{s}.json" for s in SPLIT_NAMES}
        split_of = dataset.split_of_frames()
        with contextlib.ExitStack() as stack:
            files = {k: stack.enter_context(atomic_open(p, "w", encoding="utf-8")) for k, p in targets.items()}
            for key, fh in files.items():
                _write_head(fh, dataset, key)
            _write_images(files, dataset, split_of)
            for fh in files.values():
                fh.write('],\n"annotations":[')
            _write_annotations(files, dataset, split_of)
            for fh in files.values():
                fh.write("]}\n")
        return list(targets.values())


def coco_category(dataset: Dataset) -> dict:
    """The single ``mouse`` category with keypoint names and 1-based skeleton pairs."""
    return {
        "id": CATEGORY_ID,
        "name": "mouse",
        "supercategory": "animal",
        "keypoints": list(dataset.meta.bodyparts),
        "skeleton": [[a + 1, b + 1] for a, b in dataset.meta.edge_indices],
        "kpt_oks_sigmas": [float(s) for s in dataset.meta.kpt_oks_sigmas],
    }


def keypoint_bbox(mask_bbox, xy: np.ndarray, labelled: np.ndarray, width: int, height: int) -> list[int]:
    """The mask's ``[x, y, w, h]`` grown to hold every labelled keypoint's pixel ``[floor(p), floor(p + 0.5) +
    1)`` (OpenCV pixel coordinates ``xy (K, 2)``), clipped to the image; the mask box when nothing is labelled."""
    pts = np.asarray(xy, dtype=np.float64)[np.asarray(labelled, dtype=bool)]
    x, y, w, h = (int(v) for v in mask_bbox)
    if len(pts) == 0:
        return [x, y, w, h]
    lo = np.floor(pts).min(axis=0)
    hi = (np.floor(pts + 0.5) + 1).max(axis=0)
    if w > 0 and h > 0:
        lo = np.minimum(lo, [x, y])
        hi = np.maximum(hi, [x + w, y + h])
    x0, y0 = max(0, int(lo[0])), max(0, int(lo[1]))
    x1, y1 = min(int(width), int(hi[0])), min(int(height), int(hi[1]))
    return [x0, y0, max(0, x1 - x0), max(0, y1 - y0)]


def image_id(frame: int, camera: int, n_cameras: int) -> int:
    """COCO image (and annotation) id of one camera's image of one frame, starting at 1."""
    return frame * n_cameras + camera + 1


def _dump(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _write_head(fh: IO[str], dataset: Dataset, split: str) -> None:
    start = datetime.fromisoformat(dataset.meta.session_metadata["session_start_time"])
    info = {
        "description": f"synthmouse synthetic dataset of scene {dataset.meta.scene_name!r}",
        "version": __version__,
        "contributor": "synthmouse",
        "url": "",
        "year": start.year,
        "date_created": start.strftime("%Y/%m/%d"),
        "scene_hash": dataset.identity.scene_hash,
        "seed": dataset.identity.seed,
        "split": split,
    }
    fh.write('{"info":' + _dump(info) + ',\n"licenses":[],\n"categories":[' + _dump(coco_category(dataset)))
    fh.write('],\n"images":[')


def _write_entry(files: dict[str, IO[str]], split: str, entry: dict, first: dict[str, bool]) -> None:
    text = _dump(entry)
    for key in ("all", split) if split in files else ("all",):  # gap frames (splits.json) are in no split file
        fh = files[key]
        fh.write(("\n" if first[key] else ",\n") + text)
        first[key] = False


def _write_images(files: dict[str, IO[str]], dataset: Dataset, split_of: list[str]) -> None:
    table, cams = dataset.table, dataset.meta.cameras
    first = dict.fromkeys(files, True)
    for i in range(dataset.n_frames):
        for c, cam in enumerate(cams):
            entry = {
                "id": image_id(i, c, len(cams)),
                "file_name": table.images[c][i],
                "width": cam.width,
                "height": cam.height,
                "frame_index": i,
                "camera": cam.name,
                "split": split_of[i],
            }
            _write_entry(files, split_of[i], entry, first)


def _write_annotations(files: dict[str, IO[str]], dataset: Dataset, split_of: list[str]) -> None:
    cams = dataset.meta.cameras
    parts = {name: b for b, name in enumerate(dataset.meta.bodyparts)}
    first = dict.fromkeys(files, True)
    for row in dataset.rows.iter_rows(range(dataset.n_frames)):
        by_cam = {v.camera: v for v in row.views}
        for c, cam in enumerate(cams):
            view = by_cam[cam.name]
            flags = view.coco_visibility
            keypoints = [0.0, 0.0, 0] * len(parts)
            bbox = keypoint_bbox(view.bbox, view.xy, flags > 0, view.width, view.height)
            for k, name in enumerate(view.names):
                if flags[k] > 0:
                    b = parts[name]
                    keypoints[3 * b : 3 * b + 3] = [float(view.xy[k, 0]), float(view.xy[k, 1]), int(flags[k])]
            n_labelled = int((flags > 0).sum())
            if view.area == 0 and n_labelled == 0:
                continue
            entry = {
                "id": image_id(row.index, c, len(cams)),
                "image_id": image_id(row.index, c, len(cams)),
                "category_id": CATEGORY_ID,
                "iscrowd": 0,
                "num_keypoints": n_labelled,
                "keypoints": keypoints,
                "bbox": bbox,
                "area": view.area,
                "segmentation": {"counts": view.rle, "size": [view.height, view.width]},
            }
            _write_entry(files, split_of[row.index], entry, first)
