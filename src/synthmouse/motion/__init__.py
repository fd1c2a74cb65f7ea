"""Motion: pose sequences for any body with the anatomical joint groups.

Generators (semi-random joint-constrained movement, gaits, paths, rearing, grooming, head scanning, reaching,
resting, rare postures), a YAML motion mix with frame-indexed sampling, and retargeting to 3D or 2D keypoints.
"""

from __future__ import annotations

from .rig import LIMB_NAMES, Limb, MotionRig, motion_rig

# Every generator keeps |d^2 angle / dt^2| below this for every joint with its default parameters at 30 and at
# 100 frames per second, segment boundaries of a mix included (checked by the tests on SAM and the parametric
# mouse). The fastest movements are gait swing phases (up to about 2000 rad/s^2 at 100 fps since the limb IK
# penalises angular acceleration, see synthmouse.motion.limb_ik.ACCEL_WEIGHT); resting and semi-random movement
# stay below 400 rad/s^2.
ANGULAR_ACCELERATION_BOUND = 3000.0


__all__ = ["ANGULAR_ACCELERATION_BOUND", "LIMB_NAMES", "Limb", "MotionRig", "motion_rig"]
