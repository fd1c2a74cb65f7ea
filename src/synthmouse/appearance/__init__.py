"""Look like the user's real video: camera fitting, appearance profile, compositing, domain randomization.

* :mod:`.camera_fit`: ``fit_camera`` (rig points + edges of the median frame), ``check_fit`` (refuses
  degenerate fits, naming the flags to add), scene/calibration writers;
* :mod:`.corners`: ``propose_floor_corners`` (the arena floor's corners in the median frame, for
  ``fit-camera --propose``), the points file and the picture to check them;
* :mod:`.scene_edit`: changes a few values of the user's scene file and keeps the rest as written;
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
