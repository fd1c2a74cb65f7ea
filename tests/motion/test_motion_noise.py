"""Smooth noise and the limit-normalised map (synthmouse.motion.noise)."""

from __future__ import annotations

import numpy as np

from synthmouse.motion.noise import SplineNoise, from_limits, min_jerk, to_limits


def test_spline_noise_is_deterministic_and_smooth():
    t = np.arange(600) / 300.0  # 2 s at 300 Hz
    a = SplineNoise(np.random.default_rng(1), 2.0, 0.25, 4)(t)
    b = SplineNoise(np.random.default_rng(1), 2.0, 0.25, 4)(t)
    c = SplineNoise(np.random.default_rng(2), 2.0, 0.25, 4)(t)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    dt = t[1] - t[0]
    acc = np.diff(a, 2, axis=0) / dt**2
    # a C2 cubic spline: acceleration is continuous (piecewise linear), so consecutive values differ by O(dt)
    jerk = np.abs(np.diff(acc, axis=0)).max() / dt
    knots = np.abs(np.diff(SplineNoise(np.random.default_rng(1), 2.0, 0.25, 4).knots, 3, axis=0)).max()
    assert jerk <= knots / 0.25**3 * 1.01
    assert 0.5 < a.std() < 2.0  # unit scale


def test_travelling_channel_matches_call():
    noise = SplineNoise(np.random.default_rng(3), 3.0, 0.3, 2)
    t = np.linspace(0.0, 3.0, 50)
    assert np.allclose(noise.channel(t, 1), noise(t)[:, 1])


def test_limit_map_stays_inside_and_inverts():
    lo = np.array([[-1.0, -0.2, 0.0]])
    hi = np.array([[1.0, 0.3, 0.0]])
    centre = np.array([[0.5, 0.0, 0.0]])
    u = np.array([[[-50.0, 50.0, 3.0]], [[0.0, 0.0, 0.0]], [[1.5, -2.0, 0.0]]])
    angles = to_limits(u, centre, lo, hi)
    assert np.all(angles >= lo) and np.all(angles <= hi)
    assert np.allclose(angles[1, 0, :2], centre[0, :2])  # u = 0 gives the centre posture
    back = from_limits(angles[2:], centre, lo, hi)
    assert np.allclose(back[..., :2], u[2:, :, :2], atol=1e-9)


def test_min_jerk_endpoints():
    s = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    assert np.allclose(min_jerk(s), [0.0, 0.0, 0.5, 1.0, 1.0])
    h = 1e-5
    assert abs((min_jerk(np.array([h]))[0] - 0.0) / h) < 1e-6  # zero velocity at the start
