"""Look like the user's real video: appearance profile, compositing, domain randomization.

* :mod:`.estimate`: ``read_frames``, ``fit_appearance`` (plate, animal, noise, blur, vignetting, JPEG,
  shadow);
* :mod:`.profile`: ``AppearanceProfile``, ``load_profile``, ``save_profile``;
* :mod:`.composite`: ``apply_profile(view, profile, rng, image)`` (``image``: the frame's
  :class:`~synthmouse.scene.draw.ImageDraw`);
* :mod:`.randomize`: ``RandomizationSpec``, ``parse_randomization``, ``draw`` (a typed
  :class:`~synthmouse.scene.draw.FrameDraw`), ``draw_body_shape``, ``frame_rng``.

Camera fitting lives in :mod:`synthmouse.scene.camera_fit`.
"""

from __future__ import annotations

from .composite import apply_profile
from .estimate import fit_appearance, read_frames
from .profile import AppearanceError, AppearanceProfile, load_profile, save_profile
from .randomize import FrameDraw, RandomizationSpec, draw, draw_body_shape, frame_rng, parse_randomization

__all__ = [
    "AppearanceError",
    "AppearanceProfile",
    "FrameDraw",
    "RandomizationSpec",
    "apply_profile",
    "draw",
    "draw_body_shape",
    "fit_appearance",
    "frame_rng",
    "load_profile",
    "parse_randomization",
    "read_frames",
    "save_profile",
]
