"""NWB export (optional extra): read back with pynwb + ndx-pose; 2D series, skeleton, 3D ground truth,
cameras; session and subject from the scene's metadata, checked by nwbinspector (no CRITICAL issue)."""

from __future__ import annotations

import dataclasses
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakes.dataset import EDGES, NAMES, FakeSource, dlc_h5, make_dataset
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.scene.metadata import DEFAULT_SESSION_START, MetadataSpec, session_metadata

pynwb = pytest.importorskip("pynwb")
pytest.importorskip("ndx_pose")

SEED, FRAMES = 17, 6


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nwb") / "ds"
    return make_dataset(root, frames=FRAMES, seed=SEED, formats=("nwb", "dlc"))


def test_nwb_pose_estimation_per_camera_matches_dlc_labels(dataset):
    with pynwb.NWBHDF5IO(str(dataset / "nwb" / "dataset.nwb"), "r") as io:
        nwb = io.read()
        behavior = nwb.processing["behavior"]
        skeleton = behavior["Skeletons"].skeletons["mouse"]
        assert list(skeleton.nodes[:]) == list(NAMES)
        assert {(NAMES[a], NAMES[b]) for a, b in skeleton.edges[:]} == set(EDGES)
        for cam in ("top", "side"):
            pe = behavior[f"PoseEstimation_{cam}"]
            assert pe.skeleton.name == "mouse"
            assert pe.device.name == cam
            dlc = pd.read_hdf(dlc_h5(dataset, cam), "df_with_missing")
            for name in NAMES:
                series = pe.pose_estimation_series[name]
                data = series.data[:]
                assert data.shape == (FRAMES, 2) and series.unit == "pixels"
                np.testing.assert_array_equal(data, dlc.xs(name, axis=1, level="bodyparts").to_numpy())
                np.testing.assert_array_equal(series.confidence[:], np.isfinite(data[:, 0]).astype(float))
                assert series.rate == 30.0


def test_nwb_world_ground_truth_equals_keypoints3d_csv(dataset):
    table = pd.read_csv(dataset / "keypoints3d.csv", index_col="frame")
    with pynwb.NWBHDF5IO(str(dataset / "nwb" / "dataset.nwb"), "r") as io:
        world = io.read().processing["behavior"]["PoseEstimation_world"]
        for name in NAMES:
            series = world.pose_estimation_series[name]
            assert series.unit == "meters"
            expect = table[[f"{name}_x", f"{name}_y", f"{name}_z"]].to_numpy()
            np.testing.assert_array_equal(series.data[:], expect)


def test_nwb_file_is_byte_reproducible(tmp_path):
    """Dates fixed, identifier and object ids derived from content: rewriting later gives the same bytes."""
    root = make_dataset(tmp_path / "same", frames=3, seed=1, formats=("nwb",))
    first = (root / "nwb" / "dataset.nwb").read_bytes()
    shutil.rmtree(root)
    time.sleep(1.1)
    make_dataset(tmp_path / "same", frames=3, seed=1, formats=("nwb",))
    assert (root / "nwb" / "dataset.nwb").read_bytes() == first


def _inspect(path: Path) -> list:
    nwbinspector = pytest.importorskip("nwbinspector")
    return [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path)) if m is not None]


def _importance(messages, name: str) -> list:
    return [m for m in messages if m.importance.name == name]


def test_nwbinspector_finds_no_critical_issue_with_default_metadata(dataset):
    """A source without session metadata (older datasets, test doubles) gets the documented defaults."""
    path = dataset / "nwb" / "dataset.nwb"
    messages = _inspect(path)
    assert _importance(messages, "CRITICAL") == [], [m.message for m in messages]
    assert _importance(messages, "BEST_PRACTICE_VIOLATION") == [], [m.message for m in messages]
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.session_start_time == DEFAULT_SESSION_START
        assert nwb.subject.species == "Mus musculus" and nwb.subject.sex == "U"
        assert nwb.subject.age == "P0D/"  # unknown age: the open ISO 8601 range nwbinspector accepts
        assert nwb.subject.subject_id and nwb.experiment_description and list(nwb.keywords[:])


def test_nwb_session_and_subject_follow_the_scene_metadata(tmp_path):
    spec = MetadataSpec.model_validate(
        {
            "session_start_time": "2024-03-01T10:30:00+01:00",
            "session_id": "m7-day3",
            "description": "open field, day 3",
            "experimenter": ["Doe, Jane"],
            "lab": "Behaviour lab",
            "institution": "Some University",
            "keywords": ["open field"],
            "subject": {"subject_id": "m7", "strain": "BALB/c", "sex": "F", "age": "P8W/P12W"},
        }
    )
    source = FakeSource(seed=5)
    source.meta = dataclasses.replace(source.meta, session=session_metadata(spec, "parametric", "parametric", "white"))
    root = tmp_path / "ds"
    generate(source, root, GenerateOptions(n_frames=3, formats=("nwb",)))
    path = root / "nwb" / "dataset.nwb"
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.session_start_time == datetime(2024, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
        assert nwb.file_create_date[0] == nwb.session_start_time
        assert nwb.session_id == "m7-day3" and nwb.session_description == "open field, day 3"
        assert list(nwb.experimenter) == ["Doe, Jane"]
        assert nwb.lab == "Behaviour lab" and nwb.institution == "Some University"
        assert list(nwb.keywords[:]) == ["open field"]
        s = nwb.subject
        assert (s.subject_id, s.species, s.strain, s.sex, s.age) == ("m7", "Mus musculus", "BALB/c", "F", "P8W/P12W")
    messages = _inspect(path)
    assert _importance(messages, "CRITICAL") == [], [m.message for m in messages]
    assert messages == [], [m.message for m in messages]  # every field nwbinspector looks for is filled
