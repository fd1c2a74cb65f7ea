"""Pose coverage: Procrustes distances, keypoint name matching, and flagging a removed pose cluster."""

from __future__ import annotations

import numpy as np
import pytest

from synthmouse.errors import SynthmouseError
from synthmouse.io.mapping import parse_mapping
from synthmouse.metrics.coverage import (
    match_keypoints,
    pose_coverage,
    procrustes_distances,
    unit_shapes,
)

NAMES = ("snout", "leftear", "rightear", "neck", "tailbase")
# Body frame: x forward, y towards the animal's left as seen in the image (a proper, unmirrored view).
STRAIGHT = np.array([[1.0, 0.0], [0.7, 0.18], [0.7, -0.18], [0.5, 0.0], [-1.0, 0.0]])


def head_turn(angle: float) -> np.ndarray:
    """The straight pose with the head (snout and ears) rotated by ``angle`` about the neck."""
    pose = STRAIGHT.copy()
    c, s = np.cos(angle), np.sin(angle)
    head = pose[:3] - pose[3]
    pose[:3] = pose[3] + head @ np.array([[c, s], [-s, c]])
    return pose


CLUSTERS = {
    "straight": STRAIGHT,
    "head_left": head_turn(0.9),
    "head_right": head_turn(-0.9),  # the mirror image of head_left: a reflection must not match it
    "compact": STRAIGHT * np.array([0.55, 1.0]) + np.array([[0.1, 0], [0.1, 0], [0.1, 0], [0.1, 0], [-0.2, 0]]),
}


def sample(cluster: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, K, 2)`` noisy copies of a cluster pose under random rotations, scales and translations (pixels)."""
    shape = CLUSTERS[cluster] + rng.normal(0, 0.015, (n, *STRAIGHT.shape))
    angle = rng.uniform(0, 2 * np.pi, n)
    rot = np.stack(
        [np.stack([np.cos(angle), -np.sin(angle)], -1), np.stack([np.sin(angle), np.cos(angle)], -1)], axis=-2
    )
    scale = rng.uniform(20, 90, n)[:, None, None]
    shift = rng.uniform(0, 600, (n, 1, 2))
    return scale * np.einsum("nij,nkj->nki", rot, shape) + shift


def test_coverage_flags_exactly_the_cluster_missing_from_the_synthetic_set():
    rng = np.random.default_rng(0)
    real_parts = {c: sample(c, 15, rng) for c in CLUSTERS}
    real = np.concatenate(list(real_parts.values()))
    truth = np.concatenate([np.full(15, c == "head_left") for c in CLUSTERS])
    synthetic = np.concatenate([sample(c, 40, rng) for c in CLUSTERS if c != "head_left"])
    result = pose_coverage(real, synthetic, [(n, n) for n in NAMES], radius=0.15)
    np.testing.assert_array_equal(result.uncovered, truth)
    assert result.fraction_uncovered == pytest.approx(0.25)
    assert result.distance[truth].min() > 3 * result.distance[~truth].max()  # well separated groups
    # the uncovered frames are listed, farthest first, under their keys
    keys = tuple(f"img{i:03d}.png" for i in range(len(real)))
    listed = result.to_json(keys)["uncovered_frames"]
    assert sorted(item["frame"] for item in listed) == sorted(keys[i] for i in np.flatnonzero(truth))
    # with every cluster present nothing is flagged
    full = np.concatenate([synthetic, sample("head_left", 40, rng)])
    assert not pose_coverage(real, full, radius=0.15).uncovered.any()


def test_procrustes_distance_equals_a_brute_force_search_over_rotations():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 5, 2)), rng.normal(size=(4, 5, 2))
    ua, ub = unit_shapes(a)[0], unit_shapes(b)[0]
    ours = procrustes_distances(ua, ub)
    angles = np.exp(1j * np.linspace(0, 2 * np.pi, 20000, endpoint=False))
    brute = np.min(
        np.linalg.norm(ua[:, None, None, :] - angles[None, None, :, None] * ub[None, :, None, :], axis=-1), axis=-1
    )
    np.testing.assert_allclose(ours, brute, atol=1e-6)


def test_distance_ignores_position_size_and_rotation_but_not_reflection():
    rng = np.random.default_rng(2)
    pose = rng.normal(size=(1, 6, 2))
    c, s = np.cos(1.1), np.sin(1.1)
    moved = 3.7 * pose @ np.array([[c, s], [-s, c]]) + np.array([100.0, -40.0])
    mirrored = pose * np.array([1.0, -1.0])
    u, m, r = unit_shapes(pose)[0], unit_shapes(moved)[0], unit_shapes(mirrored)[0]
    assert procrustes_distances(u, m)[0, 0] < 1e-7
    assert procrustes_distances(u, r)[0, 0] > 0.1


def test_frames_missing_a_keypoint_are_skipped_not_flagged():
    rng = np.random.default_rng(3)
    real = sample("straight", 5, rng)
    real[1, 2] = np.nan
    result = pose_coverage(real, sample("straight", 10, rng), radius=0.15)
    assert list(result.real_valid) == [True, False, True, True, True]
    assert not result.uncovered.any() and np.isnan(result.distance[1])


def test_nearest_synthetic_pose_is_fitted_onto_the_real_frame():
    rng = np.random.default_rng(4)
    real, synthetic = sample("compact", 3, rng), sample("compact", 8, rng)
    result = pose_coverage(real, synthetic, radius=0.15)
    for i in range(3):
        fitted = result.nearest_pose_on_real(i)
        size = np.sqrt(np.mean(np.sum((real[i] - real[i].mean(0)) ** 2, axis=1)))
        assert np.sqrt(np.mean(np.sum((fitted - real[i]) ** 2, axis=1))) < 0.1 * size


def test_keypoint_names_match_by_name_alias_and_explicit_map():
    mouse22 = ("left_ear_tip", "right_ear_tip", "nose", "neck", "tail_root", "tail_end")
    real = ("snout", "leftear", "rightear", "tailbase")
    assert match_keypoints(real, mouse22) == [
        ("snout", "nose"),
        ("leftear", "left_ear_tip"),
        ("rightear", "right_ear_tip"),
        ("tailbase", "tail_root"),
    ]
    with_base = (*mouse22, "left_ear_base", "right_ear_base")
    assert ("leftear", "left_ear_base") in match_keypoints(real, with_base)  # DLC labels the ear's base
    assert match_keypoints(("Tail_Root", "NOSE"), mouse22) == [("Tail_Root", "tail_root"), ("NOSE", "nose")]
    assert ("tailbase", "tail_end") in match_keypoints(real, mouse22, {"tailbase": "tail_end"})


def test_bad_map_entries_name_the_keypoint_and_the_allowed_names():
    with pytest.raises(
        SynthmouseError, match="muzzle is not a keypoint of the real data; its keypoints are snout, leftear"
    ):
        match_keypoints(("snout", "leftear"), ("nose",), {"muzzle": "nose"})
    with pytest.raises(SynthmouseError, match="muzzle is not a keypoint of the synthetic data; its keypoints are nose"):
        match_keypoints(("snout",), ("nose",), {"snout": "muzzle"})
    with pytest.raises(SynthmouseError, match=r"did you mean the reverse, --map snout=nose\?"):
        match_keypoints(("snout", "leftear"), ("nose",), {"nose": "snout"})
    assert parse_mapping(["snout=nose", "leftear=left_ear_tip,rightear=right_ear_tip"]) == {
        "snout": "nose",
        "leftear": "left_ear_tip",
        "rightear": "right_ear_tip",
    }
    for bad in ("snout", "snout=", "a=b=c"):
        with pytest.raises(SynthmouseError, match="REAL=SYNTHETIC"):
            parse_mapping([bad])
