"""SLEAP export: loaded back with sleap-io, skeleton, points, visibility and image-sequence videos checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fakes.dataset import EDGES, NAMES, FakeSource, image_path, make_dataset

sio = pytest.importorskip("sleap_io")

SEED, FRAMES = 7, 9


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("sleap") / "ds", frames=FRAMES, seed=SEED, formats=("sleap",))


def test_sleap_skeleton_and_videos(dataset):
    labels = sio.load_slp(str(dataset / "sleap" / "labels.slp"))
    assert len(labels.skeletons) == 1
    skeleton = labels.skeletons[0]
    assert tuple(skeleton.node_names) == NAMES
    assert {(e.source.name, e.destination.name) for e in skeleton.edges} == set(EDGES)
    assert len(labels.videos) == 2
    for video, cam in zip(labels.videos, ("top", "side"), strict=True):
        files = [Path(f) for f in video.filename]
        assert files == [image_path(dataset, cam, i).absolute() for i in range(FRAMES)]
        assert video.shape[0] == FRAMES and video.shape[1:3] == (40, 48)
        frame = video[3]
        assert frame.shape[:2] == (40, 48)
    assert len(labels.labeled_frames) == 2 * FRAMES


def test_sleap_points_and_visibility_equal_rendered_labels(dataset):
    labels = sio.load_slp(str(dataset / "sleap" / "labels.slp"), open_videos=False)
    source = FakeSource(seed=SEED)
    cams = {v: k for k, v in enumerate(labels.videos)}
    seen_occluded = seen_outside = 0
    for lf in labels.labeled_frames:
        view = source.render(lf.frame_idx).views[cams[lf.video]]
        (instance,) = lf.instances
        points = instance.points
        inside = (
            (view.keypoints[:, 0] >= -0.5)
            & (view.keypoints[:, 0] < 47.5)
            & (view.keypoints[:, 1] >= -0.5)
            & (view.keypoints[:, 1] < 39.5)
        )
        np.testing.assert_array_equal(points["visible"], view.visible & inside)
        np.testing.assert_array_equal(points["xy"][inside], view.keypoints[inside])
        assert np.isnan(points["xy"][~inside]).all()
        seen_occluded += int((inside & ~view.visible).sum())
        seen_outside += int((~inside).sum())
        # SLEAP's training view: occluded points are missing
        np.testing.assert_array_equal(np.isnan(instance.numpy()[:, 0]), ~(view.visible & inside))
    assert seen_occluded > 0 and seen_outside > 0


def test_sleap_split_files_partition_by_segment(dataset):
    splits = json.loads((dataset / "splits.json").read_text())
    total = 0
    for name in ("train", "val", "test"):
        labels = sio.load_slp(str(dataset / "sleap" / f"{name}.slp"), open_videos=False)
        frames = sorted({lf.frame_idx for lf in labels.labeled_frames})
        assert frames == splits["frames"][name]
        total += len(labels.labeled_frames)
    assert total == 2 * (FRAMES - len(splits["frames"]["gap"]))


def test_sleap_empty_split_has_no_file_and_a_stale_one_is_removed(tmp_path):
    """sleap-nn fails on a labels file without frames: a split with no frame gets no .slp, and the .slp of an
    earlier export of that split disappears (the same rows exported again with a split without test frames)."""
    from synthmouse.dataset.generation import GenerateOptions, finalize

    root = make_dataset(tmp_path / "ds", frames=6, seed=1, formats=("sleap",))
    assert (root / "sleap" / "test.slp").is_file()
    finalize(root, GenerateOptions(n_frames=6, formats=("sleap",), split=(0.5, 0.5, 0.0)))
    splits = json.loads((root / "splits.json").read_text())
    assert [len(splits["frames"][k]) for k in ("train", "val", "test")] == [3, 3, 0]
    assert sorted(p.name for p in (root / "sleap").iterdir()) == ["labels.slp", "train.slp", "val.slp"]
    for name in ("train", "val"):
        labels = sio.load_slp(str(root / "sleap" / f"{name}.slp"), open_videos=False)
        assert sorted({lf.frame_idx for lf in labels.labeled_frames}) == splits["frames"][name]
    manifest = json.loads((root / "manifest.json").read_text())
    assert "sleap/test.slp" not in manifest["files"] and "sleap/val.slp" in manifest["files"]


def test_sleap_two_frames_fill_train_and_val(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=2, seed=1, formats=("sleap",))
    splits = json.loads((root / "splits.json").read_text())
    assert [len(splits["frames"][k]) for k in ("train", "val", "test")] == [1, 1, 0]
    assert sorted(p.name for p in (root / "sleap").iterdir()) == ["labels.slp", "train.slp", "val.slp"]
    for name in ("train", "val"):
        labels = sio.load_slp(str(root / "sleap" / f"{name}.slp"), open_videos=False)
        assert [lf.frame_idx for lf in labels.labeled_frames] == splits["frames"][name] * 2  # two cameras
