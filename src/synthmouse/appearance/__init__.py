"""Look like the user's real video: camera fitting, appearance profile, compositing, domain randomization.

* :mod:`.camera_fit`: ``fit_camera`` (rig points + edges of the median frame), scene/calibration writers;
* :mod:`.estimate`: ``read_frames``, ``fit_appearance`` (plate, animal, noise, blur, vignetting, JPEG,
  shadow);
* :mod:`.profile`: ``AppearanceProfile``, ``load_profile``, ``save_profile``;
* :mod:`.composite`: ``apply_profile(view, profile, rng, params)``;
* :mod:`.randomize`: ``RandomizationSpec``, ``parse_randomization``, ``draw``, ``frame_rng``,
  ``jitter_camera``.
"""

from __future__ import annotations

from .composite import apply_profile
from .estimate import fit_appearance, read_frames
from .profile import AppearanceError, AppearanceProfile, load_profile, save_profile
from .randomize import RandomizationSpec, draw, frame_rng, jitter_camera, parse_randomization

__all__ = [
    "AppearanceError",
    "AppearanceProfile",
    "RandomizationSpec",
    "apply_profile",
    "draw",
    "fit_appearance",
    "frame_rng",
    "jitter_camera",
    "load_profile",
    "parse_randomization",
    "read_frames",
    "save_profile",
]
