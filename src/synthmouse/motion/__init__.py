"""Motion: pose sequences for any body with the anatomical joint groups.

Generators (semi-random joint-constrained movement, gaits, paths, rearing, grooming, head scanning, reaching,
resting, rare postures), a YAML motion mix with frame-indexed sampling, and retargeting to 3D or 2D keypoints.
"""

from __future__ import annotations

import weakref

from ..body import Body
from .rig import LIMB_NAMES, Limb, MotionRig

_RIGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def motion_rig(body: Body) -> MotionRig:
    """The :class:`MotionRig` of a body, built once per body object and cached."""
    rig = _RIGS.get(body)
    if rig is None:
        rig = MotionRig(body)
        _RIGS[body] = rig
    return rig


__all__ = ["LIMB_NAMES", "Limb", "MotionRig", "motion_rig"]
