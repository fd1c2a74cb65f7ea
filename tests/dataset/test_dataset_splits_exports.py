"""Splits with gap frames through a whole dataset: splits.json, frames.csv and every exporter's split files,
read back with the tools' own readers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import fakes.dataset
from fakes.dataset import make_dataset

FRAMES = 80  # one motion segment, gap 2: both cuts fall inside it


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    patch = pytest.MonkeyPatch()
    patch.setattr(fakes.dataset, "SEGMENT_LENGTH", 10_000)
    try:
        return make_dataset(
            tmp_path_factory.mktemp("gap") / "ds", frames=FRAMES, seed=4, formats=("dlc", "sleap", "coco", "lp")
        )
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def splits(dataset) -> dict:
    return json.loads((dataset / "splits.json").read_text())


def test_splits_json_lists_gap_frames_beside_the_splits(splits):
    frames = splits["frames"]
    assert [len(frames[k]) for k in ("val", "train", "test")] == [8, 64 - 4, 8]
    assert len(frames["gap"]) == 4
    assert sorted(sum((frames[k] for k in ("train", "val", "test", "gap")), [])) == list(range(FRAMES))
    assert splits["segments"]["gap"] == ["0"] and splits["segments"]["train"] == ["0"]
    n_cams = 2
    assert len(splits["deeplabcut"]["trainIndices"]) == n_cams * len(frames["train"])
    assert len(splits["deeplabcut"]["testIndices"]) == n_cams * len(frames["test"])


def test_frames_csv_names_gap_frames(dataset, splits):
    table = pd.read_csv(dataset / "frames.csv", index_col="frame")
    for name in ("train", "val", "test", "gap"):
        assert sorted(table.index[table["split"] == name]) == splits["frames"][name]


def test_coco_split_files_leave_gap_frames_out(dataset, splits):
    pycocotools_coco = pytest.importorskip("pycocotools.coco")
    everything = pycocotools_coco.COCO(str(dataset / "coco" / "annotations.json"))
    assert sorted({img["frame_index"] for img in everything.loadImgs(everything.getImgIds())}) == list(range(FRAMES))
    for name in ("train", "val", "test"):
        split = pycocotools_coco.COCO(str(dataset / "coco" / f"{name}.json"))
        assert sorted({img["frame_index"] for img in split.loadImgs(split.getImgIds())}) == splits["frames"][name]


def test_sleap_split_files_leave_gap_frames_out(dataset, splits):
    sio = pytest.importorskip("sleap_io")
    everything = sio.load_slp(str(dataset / "sleap" / "labels.slp"), open_videos=False)
    assert sorted({lf.frame_idx for lf in everything.labeled_frames}) == list(range(FRAMES))
    for name in ("train", "val", "test"):
        labels = sio.load_slp(str(dataset / "sleap" / f"{name}.slp"), open_videos=False)
        assert sorted({lf.frame_idx for lf in labels.labeled_frames}) == splits["frames"][name]
