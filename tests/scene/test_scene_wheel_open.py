"""Wheels as labs build them: spoked or open sides, slatted or wire-mesh treads one can see through."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from synthmouse.errors import SceneError
from synthmouse.scene.rigs import build_rig
from synthmouse.scene.spec import parse_scene_spec

CAMERA = """
cameras:
  - {name: side, width: 320, height: 240, fx: 400, look_at: {eye: [0, -0.6, 0], target: [0, 0, 0]}}
"""
WHEEL_PARTS = ("wheel", "wheel_ridges", "wheel_slats", "wheel_mesh", "wheel_sides", "wheel_spokes", "wheel_tread")


def wheel(options: str):
    spec = parse_scene_spec(textwrap.dedent(CAMERA) + f"rig: {{type: wheel, radius: 0.1, width: 0.06, {options}}}\n")
    return {m.name: m for m in build_rig(spec.rig)}


def ray_hits(parts, origins: np.ndarray, direction) -> np.ndarray:
    """``(N,) bool``: the ray from each origin along ``direction`` meets a triangle of the wheel's own parts
    (Moller-Trumbore)."""
    direction = np.asarray(direction, dtype=np.float64)
    hit = np.zeros(len(origins), dtype=bool)
    for name in WHEEL_PARTS:
        if name not in parts:
            continue
        tri = parts[name].vertices.astype(np.float64)[parts[name].faces]
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        p = np.cross(direction, e2)
        det = np.einsum("ij,ij->i", e1, p)
        ok = np.abs(det) > 1e-15
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = origins[:, None, :] - tri[None, :, 0]
        u = np.einsum("nti,ti->nt", s, p) * inv
        q = np.cross(s, e1[None])
        v = np.einsum("i,nti->nt", direction, q) * inv
        t = np.einsum("nti,ti->nt", q, e2) * inv
        hit |= np.any(ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0), axis=1)
    return hit


def test_default_wheel_is_the_closed_ridged_drum():
    parts = wheel("")
    assert {"wheel", "wheel_ridges"} <= set(parts)
    assert not {"wheel_slats", "wheel_mesh", "wheel_sides", "wheel_spokes"} & set(parts)
    assert ray_hits(parts, np.array([[0.0, -0.5, -0.1 + 0.05]]), [0, 1, 0]).all()  # the solid side disc


def test_slatted_tread_is_seen_through_between_slats_and_walked_on_at_the_radius():
    parts = wheel("tread: slats, slats: 40, slat_gap: 0.006, sides: open")
    slats = parts["wheel_slats"].vertices.astype(np.float64)
    assert np.hypot(slats[:, 0], slats[:, 2] + 0.1).max() == pytest.approx(0.1, abs=2e-4)  # flat bars' corners
    assert slats[:, 2].max() == pytest.approx(0.0, abs=1e-6)
    half_gap = np.pi / 40  # the first gap is centred half a pitch from the top; with 40 slats the ray leaves
    x = 0.1 * np.sin(half_gap)  # through the gap opposite at the bottom
    down = [0.0, 0.0, -1.0]
    assert not ray_hits(parts, np.array([[x, 0.0, 0.05]]), down).any()  # through two gaps, past no spoke
    assert ray_hits(parts, np.array([[0.0, 0.0, 0.05]]), down).all()  # straight onto the top slat


def test_spokes_are_counted_and_the_side_is_open_between_them():
    parts = wheel("tread: smooth, sides: spokes, spokes: 5")
    angles = np.radians(np.arange(0.0, 360.0, 1.0))
    r = 0.06  # between hub and tread
    origins = np.stack([r * np.sin(angles), np.full_like(angles, -0.5), -0.1 + r * np.cos(angles)], axis=1)
    hits = ray_hits(parts, origins, [0, 1, 0])
    runs = int(np.sum(hits & ~np.roll(hits, 1)))
    assert runs == 5  # one run of blocked rays per spoke (both sides' spokes line up)
    assert hits.mean() < 0.2  # mostly open


def test_mesh_tread_has_holes_across_and_around():
    parts = wheel("tread: mesh, slats: 60, slat_gap: 0.006, sides: spokes")
    assert "wheel_mesh" in parts and "wheel_spokes" in parts
    ys = np.linspace(-0.028, 0.028, 57)
    origins = np.stack([np.full_like(ys, 0.1 * np.sin(np.pi / 60)), ys, np.full_like(ys, 0.05)], axis=1)
    hits = ray_hits(parts, origins, [0, 0, -1])
    runs = int(np.sum(hits & ~np.roll(hits, 1)))
    assert 3 <= runs <= 8  # rings around the wheel block some rays across the width, the holes between do not
    assert not hits.all() and hits.any()


def test_solid_sides_with_a_slatted_tread_close_the_drum_sides():
    parts = wheel("tread: slats, sides: solid")
    assert {"wheel_slats", "wheel_sides"} <= set(parts)
    assert ray_hits(parts, np.array([[0.0, -0.5, -0.05]]), [0, 1, 0]).all()


@pytest.mark.parametrize(
    "options, message",
    [
        ("tread: slats, slats: 10, slat_gap: 0.07", "slat_gap"),
        ("tread: mesh, slats: 3, slat_gap: 0.07", "mesh hole"),
        ("sides: spokes, spoke_width: 0.2", "spoke_width"),
        ("sides: spokes, axle_radius: 0.04", "the hub"),
        ("sides: open, slat_thickness: 0.05", "slat_thickness"),
        ("sides: lattice", "sides"),
        ("sides: spokes, spokes: 0", "spokes"),
        ("tread: slats, slat_thickness: 0.06", "slat_thickness"),
    ],
)
def test_invalid_open_wheels_are_refused_naming_the_field(options, message):
    with pytest.raises(SceneError, match=message):
        wheel(options)
