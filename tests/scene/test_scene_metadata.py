"""The scene's ``metadata:`` section: validation, defaults, and its flow into the dataset metadata (session,
subject, per-keypoint OKS sigmas) that the COCO and NWB exporters read."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources

import pytest
import yaml

from synthmouse.body.keypoint_sets import builtin_set_names
from synthmouse.dataset.meta import CameraInfo, DatasetMeta
from synthmouse.dataset.scene_source import DEMO_SCENE, scene_meta
from synthmouse.errors import SceneError
from synthmouse.scene.metadata import DEFAULT_SESSION_START, default_oks_sigma, keypoint_landmarks
from synthmouse.scene.spec import parse_scene_spec

MIRROR = {
    "name": "back",
    "corners": [[-0.15, 0.1, 0.0], [0.15, 0.1, 0.0], [0.15, 0.1, 0.12], [-0.15, 0.1, 0.12]],
    "normal": [0, -1, 0],
}


def scene_dict(**changes) -> dict:
    data = json.loads(json.dumps(DEMO_SCENE))
    data.update(changes)
    return data


def sigma_data() -> dict:
    return yaml.safe_load(resources.files("synthmouse").joinpath("data/oks_sigmas.yaml").read_text())


@pytest.mark.parametrize(
    ("metadata", "field", "words"),
    [
        ({"session_start_time": "2024-03-01T10:00:00"}, "metadata.session_start_time", "time zone"),
        ({"session_start_time": "yesterday"}, "metadata.session_start_time", "ISO 8601"),
        ({"subject": {"age": "90 days"}}, "metadata.subject.age", "P90D"),
        ({"subject": {"sex": "female"}}, "metadata.subject.sex", "'F'"),
        ({"subject": {"species": "mouse"}}, "metadata.subject.species", "Latin binomial"),
        ({"subject": {"subject_id": "a/b"}}, "metadata.subject.subject_id", "'/'"),
        ({"oks_sigmas": {"nose": 0}}, "metadata.oks_sigmas.nose", "greater than 0"),
        ({"colour": "red"}, "metadata.colour", "unknown key"),
    ],
)
def test_metadata_errors_name_the_field_and_what_is_allowed(metadata, field, words):
    with pytest.raises(SceneError) as err:
        parse_scene_spec(scene_dict(metadata=metadata), source=None)
    assert field in str(err.value) and words in str(err.value)


def test_session_start_time_default_and_forms():
    assert parse_scene_spec(scene_dict(), source=None).metadata.session_start_time == DEFAULT_SESSION_START
    assert DEFAULT_SESSION_START.tzinfo is not None and DEFAULT_SESSION_START.year >= 1980  # nwbinspector's floor
    forms = {
        "2024-03-01": datetime(2024, 3, 1, tzinfo=UTC),
        "2024-03-01T09:00:00Z": datetime(2024, 3, 1, 9, tzinfo=UTC),
        "2024-03-01T10:00:00+01:00": datetime(2024, 3, 1, 10, tzinfo=timezone(timedelta(hours=1))),
    }
    for text, expected in forms.items():
        value = yaml.safe_load(f"t: {text}")["t"]  # as the scene file's YAML parser gives it
        spec = parse_scene_spec(scene_dict(metadata={"session_start_time": value}), source=None)
        assert spec.metadata.session_start_time == expected


@pytest.fixture(scope="module")
def built():
    """The demo scene with a mirror, metadata and an OKS override, built (no rendering)."""
    from synthmouse.scene.build import build_scene

    metadata = {
        "session_start_time": "2024-03-01T10:00:00+01:00",
        "subject": {"sex": "F", "age": "P10W"},
        "oks_sigmas": {"nose": 0.05},
    }
    spec = parse_scene_spec(scene_dict(mirrors=[MIRROR], metadata=metadata), source=None)
    scene = build_scene(spec)
    return scene, scene_meta(scene, "demo", 30.0)


def test_scene_meta_carries_session_and_subject(built):
    _, meta = built
    session = meta.session
    assert datetime.fromisoformat(session["session_start_time"]) == datetime(
        2024, 3, 1, 10, tzinfo=timezone(timedelta(hours=1))
    )
    subject = session["subject"]
    assert (subject["sex"], subject["age"], subject["species"]) == ("F", "P10W", "Mus musculus")
    assert subject["strain"] == "C57BL/6"  # built-in body, black coat: the strain it is modelled on
    assert "/" not in subject["subject_id"]


def test_strain_is_unknown_for_another_coat():
    from synthmouse.scene.build import build_scene

    data = scene_dict()
    data["body"]["fur"] = "white"
    spec = parse_scene_spec(data, source=None)
    assert scene_meta(build_scene(spec), "w", 30.0).session["subject"]["strain"] == "unknown"


def test_scene_meta_oks_sigmas_from_data_file_override_and_mirror(built):
    scene, meta = built
    data = sigma_data()
    kinds, landmarks = data["kinds"], data["landmarks"]
    names = scene.keypoint_names
    assert set(meta.oks_sigmas) == set(meta.bodyparts)
    assert meta.oks_sigmas["nose"] == 0.05  # the scene's override
    # mouse22 maps each name to the landmark of the same name; left_hip sits at the knee (MAMMAL)
    for n in names:
        if n != "nose":
            assert meta.oks_sigmas[n] == kinds[landmarks[n]]
    assert meta.oks_sigmas["left_hip"] == kinds["knee"]
    # mirror-view keypoints take the sigma of the keypoint they mirror, in bodyparts order for COCO
    for n in names:
        assert meta.oks_sigmas[f"{n}_back"] == meta.oks_sigmas[n]
    assert meta.kpt_oks_sigmas == tuple(meta.oks_sigmas[b] for b in meta.bodyparts)


def test_unknown_oks_override_names_the_keypoints():
    from synthmouse.scene.build import build_scene

    spec = parse_scene_spec(scene_dict(metadata={"oks_sigmas": {"snout": 0.04}}), source=None)
    with pytest.raises(SceneError) as err:
        scene_meta(build_scene(spec), "x", 30.0)
    assert "metadata.oks_sigmas" in str(err.value) and "snout" in str(err.value) and "nose" in str(err.value)


def test_every_builtin_keypoint_has_a_documented_sigma_kind():
    """Each keypoint of the built-in sets resolves through a listed landmark or a pattern, never the catch-all
    default (a new set or landmark needs its kind in data/oks_sigmas.yaml)."""
    data = sigma_data()
    kinds = data["kinds"]
    for set_name in builtin_set_names():
        sets = yaml.safe_load(resources.files("synthmouse").joinpath("data/keypoint_sets.yaml").read_text())
        landmarks = keypoint_landmarks(set_name)
        for name in sets["sets"][set_name]["keypoints"]:
            landmark = landmarks.get(name)
            if landmark in data["landmarks"]:
                assert default_oks_sigma(name, landmark) == kinds[data["landmarks"][landmark]]
            else:
                assert any(re.search(p, name.lower()) for p, _ in data["patterns"]), (set_name, name)


def test_dataset_meta_json_round_trip_and_older_state_files():
    cams = (CameraInfo("top", 8, 8, ("nose", "tail")),)
    meta = DatasetMeta(
        "s",
        "0" * 64,
        cams,
        ("nose", "tail"),
        session={"session_start_time": "2024-01-01T00:00:00+00:00", "subject": {}},
        oks_sigmas={"nose": 0.03, "tail": 0.09},
    )
    again = DatasetMeta.from_json(json.loads(json.dumps(meta.to_json())))
    assert again == meta
    old = meta.to_json()
    del old["session"], old["oks_sigmas"]  # a state.json written before these fields existed
    legacy = DatasetMeta.from_json(old)
    assert legacy.session == {} and legacy.session_metadata["session_start_time"] == DEFAULT_SESSION_START.isoformat()
    assert legacy.kpt_oks_sigmas == (default_oks_sigma("nose"), default_oks_sigma("tail"))
