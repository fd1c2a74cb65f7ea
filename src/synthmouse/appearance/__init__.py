"""Look like the user's real video: appearance profile, compositing, domain randomization.

* :mod:`.estimate`: ``read_frames``, ``fit_appearance`` (plate, animal, noise, blur, vignetting, JPEG,
  shadow); ``read_labelled_frames`` and ``fit_appearance_labelled`` for an animal that never leaves the frame
  (the plate with the labelled animal masked and inpainted);
* :mod:`.profile`: ``AppearanceProfile``, ``load_profile``, ``save_profile``;
* :mod:`.composite`: ``apply_profile(view, profile, rng, image)`` (``image``: the frame's
  :class:`~synthmouse.scene.draw.ImageDraw`); ``apply_image(view, rng, image)`` for a camera without a profile;
* :mod:`.randomize`: ``RandomizationSpec``, ``parse_randomization``, ``draw`` (a typed
  :class:`~synthmouse.scene.draw.FrameDraw`), ``draw_body_shape``, ``frame_rng``.

Camera fitting lives in :mod:`synthmouse.scene.camera_fit`.
"""

from __future__ import annotations

from .composite import apply_image, apply_profile
from .estimate import fit_appearance, fit_appearance_labelled, read_frames, read_labelled_frames
from .profile import AppearanceError, AppearanceProfile, load_profile, save_profile
from .randomize import FrameDraw, RandomizationSpec, draw, draw_body_shape, frame_rng, parse_randomization

__all__ = [
    "AppearanceError",
    "AppearanceProfile",
    "FrameDraw",
    "RandomizationSpec",
    "apply_image",
    "apply_profile",
    "draw",
    "draw_body_shape",
    "fit_appearance",
    "fit_appearance_labelled",
    "frame_rng",
    "load_profile",
    "parse_randomization",
    "read_frames",
    "read_labelled_frames",
    "save_profile",
]
