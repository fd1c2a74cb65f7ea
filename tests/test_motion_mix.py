"""Motion mix: YAML validation, frame-indexed sampling, determinism, segments, smooth boundaries."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from synthmouse.errors import SceneError
from synthmouse.motion.mix import MotionMix, load_mix_spec, scene_motion

FPS = 30.0
SMOOTH_MIX = {
    "block_seconds": 4.0,
    "blend_seconds": 0.3,
    "generators": [
        {"type": "random", "weight": 1, "duration": [0.7, 1.2], "amplitude": 0.4},
        {"type": "rest", "weight": 1, "duration": [0.7, 1.2]},
        {"type": "scan", "weight": 1, "duration": [0.7, 1.2]},
        {"type": "rare", "weight": 1, "duration": [0.7, 1.2]},
    ],
}
FULL_MIX = {
    "block_seconds": 3.0,
    "arena": {"x": [-0.15, 0.15], "y": [-0.1, 0.1], "margin": 0.04},
    "generators": [
        {"type": "locomotion", "name": "walk", "weight": 2, "duration": [0.8, 1.5]},
        {"type": "rear", "weight": 1, "duration": [0.8, 1.5]},
        {"type": "groom", "weight": 1, "duration": [0.8, 1.5]},
    ],
}


def test_yaml_round_trip(tmp_path, sam_body):
    path = tmp_path / "mix.yaml"
    path.write_text(
        "block_seconds: 5\n"
        "generators:\n"
        "  - {type: locomotion, gait: trot, weight: 2, duration: [1, 2], duty_factor: 0.45}\n"
        "  - {type: groom, name: face_wash}\n"
    )
    mix = MotionMix.from_yaml(path, sam_body)
    assert mix.names == ["locomotion", "face_wash"]
    assert mix.spec.generators[0].duty_factor == 0.45
    assert np.isclose(mix.weights.sum(), 1.0) and np.isclose(mix.weights[0], 2 / 3)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"generators": [{"type": "locomotion", "duty_factor": 1.2}]},
         ["generators.0.locomotion.duty_factor", "1.2", "less than 0.95"]),
        ({"generators": [{"type": "walkk"}]}, ["generators.0", "'walkk'", "'locomotion'", "'groom'"]),
        ({"generators": [{"type": "rear", "pich": 40}]}, ["generators.0.rear.pich", "allowed fields", "pitch"]),
        ({"generators": [{"type": "rest", "duration": [3, 1]}]}, ["generators.0.rest.duration", "min <= max"]),
        ({"generators": []}, ["generators", "at least 1"]),
        ({"generator": [{"type": "rest"}]}, ["generator", "allowed fields", "generators"]),
        ({"support": {"type": "ice"}, "generators": [{"type": "rest"}]}, ["support.type", "'ice'", "'wheel'"]),
        ({"generators": [{"type": "rest"}, {"type": "rest"}]}, ["unique"]),
    ],
)
def test_validation_errors_name_field_value_and_allowed(data, expected):
    with pytest.raises(SceneError) as info:
        load_mix_spec(data, "mix.yaml")
    text = str(info.value)
    assert text.startswith("mix.yaml: ")
    for piece in expected:
        assert piece in text, f"{piece!r} missing from: {text}"


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(SceneError, match="not found"):
        load_mix_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("generators: [\n")
    with pytest.raises(SceneError, match="not valid YAML"):
        load_mix_spec(bad)


def test_sample_matches_pose_at_and_is_deterministic(sam_body):
    mix = MotionMix.from_dict(FULL_MIX, sam_body)
    n = 150  # 5 s: crosses block boundaries (3 s blocks) and many bouts
    pose, ids, names = mix.sample(n, FPS, seed=4)
    sam_body.skeleton.check_limits(pose.angles)
    assert pose.n_frames == n and len(ids) == n and len(names) == n
    fresh = MotionMix.from_dict(FULL_MIX, sam_body)  # a new object: no shared cache
    for i in (0, 1, 44, 89, 90, 91, 100, 149):
        p, sid, name = fresh.pose_at(i, FPS, seed=4)
        assert np.allclose(p.root, pose.root[i:i + 1], atol=1e-12)
        assert np.allclose(p.rotations, pose.rotations[i:i + 1], atol=1e-12)
        assert sid == ids[i] and name == names[i]
    again, ids2, _ = MotionMix.from_dict(FULL_MIX, sam_body).sample(n, FPS, seed=4)
    assert np.array_equal(again.rotations, pose.rotations) and np.array_equal(ids2, ids)
    other, _, _ = mix.sample(n, FPS, seed=5)
    assert not np.allclose(other.rotations, pose.rotations)


def test_segments_and_names(sam_body):
    mix = MotionMix.from_dict(FULL_MIX, sam_body)
    _, ids, names = mix.sample(120, FPS, seed=1)
    changes = np.flatnonzero(np.diff(ids)) + 1
    assert len(changes) >= 2
    bounds = np.concatenate([[0], changes, [120]])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        assert len(set(names[a:b])) == 1  # one generator per segment
        assert (b - a) <= 1.5 * FPS + 1 or b == 120
    assert set(names) <= {"walk", "rear", "groom"}
    assert len(set(ids)) == len(bounds) - 1  # ids are unique per segment


def test_root_stays_in_arena_and_is_continuous(sam_body):
    mix = MotionMix.from_dict(FULL_MIX, sam_body)
    pose, _, names = mix.sample(180, FPS, seed=2)
    xy = pose.root[:, :2, 3]
    assert np.all(np.abs(xy[:, 0]) <= 0.15 - 0.04 + 1e-6) and np.all(np.abs(xy[:, 1]) <= 0.1 - 0.04 + 1e-6)
    step = np.linalg.norm(np.diff(pose.root[:, :3, 3], axis=0), axis=1)
    assert step.max() < 0.6 / FPS  # below 0.6 m/s everywhere: no jumps between bouts
    assert "walk" in names


def _max_accel(angles: np.ndarray) -> float:
    return float(np.abs(np.diff(angles, 2, axis=0)).max() * FPS**2)


def test_blends_remove_jumps_at_segment_boundaries(sam_body):
    mix = MotionMix.from_dict(SMOOTH_MIX, sam_body)
    pose, ids, _ = mix.sample(150, FPS, seed=3)
    angles = pose.angles
    bound = 500.0  # rad/s^2 for these slow generators (each alone stays below ~150)
    assert _max_accel(angles) < bound
    # the same bouts concatenated without blending jump at the boundaries: the check above can fail
    raw = MotionMix.from_dict({**SMOOTH_MIX, "blend_seconds": 0.0}, sam_body).sample(150, FPS, seed=3)[0]
    assert _max_accel(raw.angles) > bound


def test_full_mix_respects_the_stated_bound(sam_body):
    from synthmouse.motion import ANGULAR_ACCELERATION_BOUND

    pose, _, _ = MotionMix.from_dict(FULL_MIX, sam_body).sample(150, FPS, seed=6)
    assert _max_accel(pose.angles) < ANGULAR_ACCELERATION_BOUND


def test_scene_adapter_follows_the_rig(sam_body):
    root = np.eye(4)
    root[:3, 3] = [0.01, 0.0, 0.02]
    scene = SimpleNamespace(spec=SimpleNamespace(rig=SimpleNamespace(type="wheel", radius=0.09)), motion=None,
                            floor_region=None, body=sam_body, body_root=root)
    provider = scene_motion(scene, seed=3, fps=30.0)
    assert provider.mix.stage.support.kind == "wheel" and provider.mix.stage.head_fixed is not None
    pose, params = provider.sample(10)
    direct, sid, name = provider.mix.pose_at(10, 30.0, 3)
    assert np.allclose(root @ pose.root, direct.root)  # the scene composes body_root back
    assert params == {"motion": name, "segment": sid}
