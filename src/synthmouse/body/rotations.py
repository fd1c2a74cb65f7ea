"""Joint-angle convention and vectorized rotation helpers.

A joint's local rotation is given by three angles ``(flex, lateral, twist)`` in radians about the axes of the
joint's anatomical frame (see :mod:`synthmouse.body.skeleton`):

* ``flex``    about the frame's y axis (the left-right axis): positive moves the distal end ventrally (down);
* ``lateral`` about the frame's z axis: positive moves the distal end towards the frame's +y;
* ``twist``   about the frame's x axis (along the bone).

They compose as ``R = Ry(flex) @ Rz(lateral) @ Rx(twist)`` (scipy: ``Rotation.from_euler("YZX", [flex,
lateral, twist])``, intrinsic). Lateral bending is the middle angle because it never reaches 90 degrees in a
mouse, so the decomposition has no gimbal lock inside the joint limits.
"""

from __future__ import annotations

import numpy as np

EULER_SEQ = "YZX"  # scipy intrinsic sequence equivalent to Ry(flex) @ Rz(lateral) @ Rx(twist)
ANGLE_NAMES = ("flex", "lateral", "twist")


def angles_to_matrices(angles: np.ndarray) -> np.ndarray:
    """``(..., 3)`` angles (flex, lateral, twist) in radians to ``(..., 3, 3)`` rotation matrices."""
    angles = np.asarray(angles, dtype=np.float64)
    a, b, c = angles[..., 0], angles[..., 1], angles[..., 2]
    ca, sa = np.cos(a), np.sin(a)
    cb, sb = np.cos(b), np.sin(b)
    cc, sc = np.cos(c), np.sin(c)
    out = np.empty(angles.shape[:-1] + (3, 3), dtype=np.float64)
    # Ry(a) @ Rz(b) @ Rx(c), expanded.
    out[..., 0, 0] = ca * cb
    out[..., 0, 1] = -ca * sb * cc + sa * sc
    out[..., 0, 2] = ca * sb * sc + sa * cc
    out[..., 1, 0] = sb
    out[..., 1, 1] = cb * cc
    out[..., 1, 2] = -cb * sc
    out[..., 2, 0] = -sa * cb
    out[..., 2, 1] = sa * sb * cc + ca * sc
    out[..., 2, 2] = -sa * sb * sc + ca * cc
    return out


def matrices_to_angles(matrices: np.ndarray) -> np.ndarray:
    """Inverse of :func:`angles_to_matrices`, ``(..., 3, 3)`` to ``(..., 3)``; lateral in [-pi/2, pi/2]."""
    m = np.asarray(matrices, dtype=np.float64)
    lateral = np.arcsin(np.clip(m[..., 1, 0], -1.0, 1.0))
    flex = np.arctan2(-m[..., 2, 0], m[..., 0, 0])
    twist = np.arctan2(-m[..., 1, 2], m[..., 1, 1])
    return np.stack([flex, lateral, twist], axis=-1)


def rigid(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Stack ``(..., 3, 3)`` rotations and ``(..., 3)`` translations into ``(..., 4, 4)`` transforms."""
    rotation = np.asarray(rotation, dtype=np.float64)
    translation = np.asarray(translation, dtype=np.float64)
    shape = np.broadcast_shapes(rotation.shape[:-2], translation.shape[:-1])
    out = np.zeros(shape + (4, 4), dtype=np.float64)
    out[..., :3, :3] = rotation
    out[..., :3, 3] = translation
    out[..., 3, 3] = 1.0
    return out


def invert_rigid(transform: np.ndarray) -> np.ndarray:
    """Inverse of rigid ``(..., 4, 4)`` transforms (rotation + translation)."""
    rot_t = np.swapaxes(transform[..., :3, :3], -1, -2)
    return rigid(rot_t, -np.einsum("...ij,...j->...i", rot_t, transform[..., :3, 3]))
