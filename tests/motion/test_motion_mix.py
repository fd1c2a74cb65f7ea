"""Motion mix: YAML validation, frame-indexed sampling, determinism, segments, smooth boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from synthmouse.errors import SceneError
from synthmouse.motion.base import Arena, HeadFixed, Stage, Support
from synthmouse.motion.mix import (
    DEFAULT_RUNNING_MIX,
    MixPoseProvider,
    MotionMix,
    check_stage,
    load_mix_spec,
)

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
        (
            {"generators": [{"type": "locomotion", "duty_factor": 1.2}]},
            ["generators[0].duty_factor", "1.2", "less than 0.95"],
        ),
        ({"generators": [{"type": "walkk"}]}, ["generators[0]: unknown type", "'walkk'", "'locomotion'", "'groom'"]),
        (
            {"generators": [{"type": "rear", "pich": 40}]},
            ["generators[0].pich: unknown key 'pich'", "allowed keys", "pitch"],
        ),
        ({"generators": [{"type": "rest", "duration": [3, 1]}]}, ["generators[0].duration", "min <= max"]),
        ({"generators": []}, ["generators", "at least 1"]),
        ({"generator": [{"type": "rest"}]}, ["generator: unknown key", "allowed keys", "generators: required"]),
        ({"support": {"type": "ice"}, "generators": [{"type": "rest"}]}, ["support.type", "'ice'", "'wheel'"]),
        ({"generators": [{"type": "rest"}, {"type": "rest"}]}, ["unique"]),
    ],
)
def test_validation_errors_name_field_value_and_allowed(data, expected):
    with pytest.raises(SceneError) as info:
        load_mix_spec(data, "mix.yaml")
    text = str(info.value)
    lines = text.splitlines()
    if len(lines) > 1:  # several problems: a head line, then one indented line each
        assert lines[0] == f"{len(lines) - 1} problems in the motion mix:", text
        lines = [line.removeprefix("  ") for line in lines[1:]]
    assert all(line.startswith("mix.yaml: ") for line in lines), text
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
        assert np.allclose(p.root, pose.root[i : i + 1], atol=1e-12)
        assert np.allclose(p.rotations, pose.rotations[i : i + 1], atol=1e-12)
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
    # the root (at the hips) keeps 1 cm off the walls (wall-following runs the midline 2.5 cm from them; the nose is
    # checked in a full-size arena in test_motion_openfield.py: this one is only two body lengths wide)
    assert np.all(np.abs(xy[:, 0]) <= 0.15 - 0.01) and np.all(np.abs(xy[:, 1]) <= 0.1 - 0.01)
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


def test_full_mix_respects_the_stated_bound_at_100_fps(parametric_body):
    from synthmouse.motion import ANGULAR_ACCELERATION_BOUND

    fps = 100.0
    pose, ids, names = MotionMix.from_dict(FULL_MIX, parametric_body).sample(300, fps, seed=6)
    assert len(set(ids.tolist())) >= 2 and len(set(names)) >= 2  # crosses segment boundaries
    assert np.abs(np.diff(pose.angles, 2, axis=0)).max() * fps**2 < ANGULAR_ACCELERATION_BOUND


def test_a_mix_moves_on_the_stage_it_is_given_and_its_own_sections_win(sam_body):
    root = np.eye(4)
    root[:3, 3] = [0.01, 0.0, 0.02]
    wheel = Stage(Support("wheel", 0.0, 0.09), Arena(), HeadFixed())
    spec = load_mix_spec(DEFAULT_RUNNING_MIX)
    assert spec.stage(wheel) == wheel  # nothing written: the stage as given
    mix = MotionMix(spec, sam_body, spec.stage(wheel))
    assert mix.stage.support.kind == "wheel" and mix.stage.head_fixed is not None and not mix.stage.free
    provider = MixPoseProvider(mix, 3, 30.0, root)
    pose, params = provider.sample(10)
    direct, sid, name = mix.pose_at(10, 30.0, 3)
    assert np.allclose(root @ pose.root, direct.root)  # the scene composes body_root back
    assert params == {"motion": name, "segment": sid}
    written = load_mix_spec({**DEFAULT_RUNNING_MIX, "support": {"type": "treadmill"}, "head_fixed": None})
    stage = written.stage(wheel)
    assert stage.support == Support("treadmill") and stage.head_fixed is None and stage.arena == Arena()
    assert MotionMix(written, sam_body).stage.support.kind == "treadmill"  # no stage: the mix's own sections


def test_a_stage_outside_the_mix_bounds_is_refused_naming_the_field():
    assert check_stage(Stage(Support("wheel", 0.0, 0.09))).support.radius == 0.09
    with pytest.raises(SceneError, match=r"^motion: support.radius: .*greater than 0.01 \(got 0.008\)"):
        check_stage(Stage(Support("wheel", 0.0, 0.008)), "motion")
    with pytest.raises(SceneError, match=r"arena: arena x range .* wider than twice the margin"):
        check_stage(Stage(arena=Arena(-0.01, 0.01, -0.2, 0.2, margin=0.04)))


# ---------------------------------------------------------------------------------------------- clip playback
def _write_fit(path, body, n=90, fps=30.0, speed=0.12, seed=0):
    """A fit file of a known motion: semi-random angles on a curved path (root heading along the path)."""
    from synthmouse.motion import motion_rig
    from synthmouse.motion.base import root_transforms
    from synthmouse.motion.semirandom import SemiRandomSpec

    rig = motion_rig(body)
    angles = SemiRandomSpec(amplitude=0.3).generate(rig, n, fps, np.random.default_rng(seed)).angles
    t = np.arange(n) / fps
    pos = np.column_stack([speed * t, 0.03 * np.sin(2 * t), np.full(n, rig.standing.height)])
    heading = np.arctan2(np.gradient(pos[:, 1]), np.gradient(pos[:, 0]))
    root = root_transforms(pos, heading)
    np.savez(path, angles=angles, root=root, fps=fps, joints=np.array(body.skeleton.names))
    return angles, root


def _clip_mix(path, **extra):
    return {
        "block_seconds": 3.0,
        "blend_seconds": 0.2,
        "arena": {"x": [-0.2, 0.2], "y": [-0.15, 0.15], "margin": 0.04},
        "generators": [
            {"type": "clip", "path": str(path), "weight": 2, "duration": [0.8, 1.5], **extra},
            {"type": "rest", "duration": [0.5, 1.0]},
            {"type": "scan", "duration": [0.5, 1.0]},
        ],
    }


def _window_offset(file_angles, played):
    """The file frame whose angles equal the first played frame (exact playback), or None."""
    hits = [
        s
        for s in range(len(file_angles) - len(played) + 1)
        if np.allclose(file_angles[s : s + len(played)], played, atol=1e-12)
    ]
    return hits[0] if hits else None


def test_clip_plays_the_fitted_angles_and_keeps_the_root_continuous(tmp_path, parametric_body):
    from synthmouse.motion import motion_rig

    fit = tmp_path / "fit.npz"
    file_angles, file_root = _write_fit(fit, parametric_body)
    rig = motion_rig(parametric_body)
    mix = MotionMix.from_dict(_clip_mix(fit), parametric_body)
    n = 110  # crosses the block boundary at 90; seed 0 plays scan, clip, clip, rest, scan, clip
    pose, ids, names = mix.sample(n, FPS, seed=0)
    angles = pose.angles
    assert "clip" in names and {"rest", "scan"} & set(names)
    blend = mix.blend_frames(FPS)
    clamped = rig.clamp(file_angles)
    played = 0
    for sid in dict.fromkeys(ids.tolist()):
        frames = np.flatnonzero(ids == sid)
        if names[frames[0]] != "clip" or len(frames) <= blend + 2:
            continue
        inner = frames[blend:]  # after the blend from the previous bout: the file's frames, one for one
        assert _window_offset(clamped, angles[inner]) is not None
        # the recorded horizontal path, turned and moved: distances between frames are kept (or it plays in place)
        xy = pose.root[inner, :2, 3]
        steps = np.linalg.norm(np.diff(xy, axis=0), axis=1)
        s = _window_offset(clamped, angles[inner])
        rec = np.linalg.norm(np.diff(file_root[s : s + len(inner), :2, 3], axis=0), axis=1)
        assert np.allclose(steps, rec, atol=1e-9) or np.allclose(steps, 0.0)
        played += 1
    assert played >= 2
    xy = pose.root[:, :2, 3]
    # inside the walls (x +-0.2, y +-0.15) by the margin, or by 60 % of wall_distance for a wall-following root
    assert np.all(np.abs(xy[:, 0]) <= 0.2 - 0.015 + 1e-6) and np.all(np.abs(xy[:, 1]) <= 0.15 - 0.015 + 1e-6)
    step = np.linalg.norm(np.diff(pose.root[:, :3, 3], axis=0), axis=1)
    assert step.max() < 0.6 / FPS  # no root jumps at bout or block boundaries
    parametric_body.skeleton.check_limits(angles)
    fresh = MotionMix.from_dict(_clip_mix(fit), parametric_body)
    for i in (0, 29, 44, 89, 90, 91, 109):
        p, sid, name = fresh.pose_at(i, FPS, seed=0)
        assert np.allclose(p.root, pose.root[i : i + 1], atol=1e-12)
        assert np.allclose(p.rotations, pose.rotations[i : i + 1], atol=1e-12)
        assert sid == ids[i] and name == names[i]


def test_clip_resamples_to_the_mix_rate(tmp_path, parametric_body):
    from synthmouse.motion import motion_rig
    from synthmouse.motion.base import Stage
    from synthmouse.motion.playback import ClipSpec

    rig = motion_rig(parametric_body)
    fit = tmp_path / "fit60.npz"
    file_angles, file_root = _write_fit(fit, parametric_body, n=120, fps=60.0)
    spec = ClipSpec(path=str(fit))
    clip = spec.generate(rig, 30, 30.0, np.random.default_rng(1), Stage())
    s = _window_offset(rig.clamp(file_angles)[::2], clip.angles)  # 60 -> 30 fps: every other file frame
    assert s is not None or _window_offset(rig.clamp(file_angles)[1::2], clip.angles) is not None
    fit45 = tmp_path / "fit45.npz"
    np.savez(fit45, angles=file_angles, root=file_root, fps=45.0, joints=np.array(parametric_body.skeleton.names))
    clip45 = ClipSpec(path=str(fit45)).generate(rig, 20, 30.0, np.random.default_rng(2), Stage())
    # 45 -> 30 fps: played frame k is file time first + 1.5 k; compare with numpy's linear interpolation
    first = int(np.random.default_rng(2).integers(0, int(np.floor(119 - 19 * 1.5)) + 1))
    u = first + 1.5 * np.arange(20)
    j, a = 7, 0  # one joint axis is enough for an independent reference
    ref = np.clip(np.interp(u, np.arange(120), file_angles[:, j, a]), rig.lo[j, a], rig.hi[j, a])
    assert np.allclose(clip45.angles[:, j, a], ref, atol=1e-12)
    # the path is the recorded one turned about z: step lengths equal the interpolated recording's
    ref_xy = np.column_stack([np.interp(u, np.arange(120), file_root[:, c, 3]) for c in (0, 1)])
    assert np.allclose(
        np.linalg.norm(np.diff(clip45.root[:, :2, 3], axis=0), axis=1),
        np.linalg.norm(np.diff(ref_xy, axis=0), axis=1),
        atol=1e-9,
    )


def test_clip_on_a_wheel_hangs_from_the_head_bar_and_on_a_treadmill_plays_in_place(tmp_path, parametric_body):
    from synthmouse.motion import motion_rig

    rig = motion_rig(parametric_body)
    fit = tmp_path / "fit.npz"
    _write_fit(fit, parametric_body)
    wheel = {
        "block_seconds": 2.0,
        "support": {"type": "wheel", "radius": 0.09},
        "head_fixed": {},
        "generators": [{"type": "clip", "path": str(fit), "duration": [0.8, 1.2]}],
    }
    mix = MotionMix.from_dict(wheel, parametric_body)
    pose, ids, _ = mix.sample(40, FPS, seed=1)
    head = int(rig.chains["head"][0])
    world = rig.world(pose.angles, pose.root)[:, head]
    first = np.concatenate([[0], np.flatnonzero(np.diff(ids)) + 1])
    blending = np.zeros(40, bool)
    for f in first[1:]:
        blending[f : f + mix.blend_frames(FPS)] = True  # blends interpolate roots and angles separately
    assert len(first) >= 2 and (~blending).sum() > 20
    assert np.allclose(world[~blending], world[0], atol=1e-9)  # the head stays on the head bar
    belt = {
        "block_seconds": 2.0,
        "support": {"type": "treadmill"},
        "arena": None,
        "generators": [{"type": "clip", "path": str(fit), "duration": [0.8, 1.2]}],
    }
    pose, _, _ = MotionMix.from_dict(belt, parametric_body).sample(40, FPS, seed=1)
    assert np.allclose(pose.root[:, :2, 3], pose.root[0, :2, 3], atol=1e-12)  # in place on the belt


def test_clip_paths_are_relative_to_the_mix_file(tmp_path, parametric_body, monkeypatch):
    folder = tmp_path / "rig"
    folder.mkdir()
    _write_fit(folder / "fit.npz", parametric_body)
    (folder / "mix.yaml").write_text("generators:\n  - {type: clip, path: fit.npz, duration: [0.8, 1]}\n")
    monkeypatch.chdir(tmp_path)
    spec = load_mix_spec(folder / "mix.yaml")
    assert spec.generators[0].path == str(folder / "fit.npz")
    pose, ids, names = MotionMix(spec, parametric_body).sample(3, FPS, seed=0)
    assert names == ["clip"] * 3 and pose.n_frames == 3


def test_clip_errors_name_the_file_field_and_value(tmp_path, parametric_body):
    with pytest.raises(SceneError) as info:
        load_mix_spec({"generators": [{"type": "clip", "path": "missing.npz"}]}, "mix.yaml")
    text = str(info.value)
    assert "mix.yaml: generators[0].path" in text and "missing.npz" in text and "not found" in text
    fit = tmp_path / "fit.npz"
    angles, root = _write_fit(fit, parametric_body, n=40)
    other = tmp_path / "other.npz"
    names = list(parametric_body.skeleton.names)
    names[3] = "not_a_joint"
    np.savez(other, angles=angles, root=root, fps=30.0, joints=np.array(names))
    with pytest.raises(SceneError) as info:
        MotionMix.from_dict(
            {"generators": [{"type": "clip", "path": str(other), "duration": [0.6, 1]}]}, parametric_body
        )
    assert str(other) in str(info.value) and "not_a_joint" in str(info.value) and "do not match" in str(info.value)
    with pytest.raises(SceneError, match="longer than the recording"):
        MotionMix.from_dict({"generators": [{"type": "clip", "path": str(fit), "duration": [1, 3]}]}, parametric_body)
    with pytest.raises(SceneError) as info:
        load_mix_spec({"generators": [{"type": "clip", "path": str(fit), "tries": 0}]}, "mix.yaml")
    assert "generators[0].tries" in str(info.value)


@pytest.mark.slow
def test_clip_between_walks_keeps_anchors_consistent(tmp_path, parametric_body):
    fit = tmp_path / "fit.npz"
    _write_fit(fit, parametric_body)
    data = _clip_mix(fit)
    data["generators"].append({"type": "locomotion", "name": "walk", "duration": [0.8, 1.2]})
    mix = MotionMix.from_dict(data, parametric_body)
    pose, ids, names = mix.sample(150, FPS, seed=21)  # clip, walk, clip, walk, scan, walk
    assert "walk" in names and "clip" in names
    step = np.linalg.norm(np.diff(pose.root[:, :3, 3], axis=0), axis=1)
    assert step.max() < 0.6 / FPS
    fresh = MotionMix.from_dict(data, parametric_body)
    for i in (0, 40, 90, 149):
        assert np.allclose(fresh.pose_at(i, FPS, seed=21)[0].root, pose.root[i : i + 1], atol=1e-12)
