"""Articulated, skinned mouse bodies: skeleton, skinning, keypoints, joint limits and model loaders.

Conventions: metres; right-handed frame, z up; the rest pose faces +x (nose towards +x), left side towards +y.
"""

from pathlib import Path

from ..errors import ModelFormatError
from .gltf import load_gltf
from .groups import GROUPS, PARTS, mirror_group
from .keypoints import KeypointDef, KeypointSet
from .model import Body
from .parametric import build_parametric_mouse
from .pose import Pose
from .rotations import angles_to_matrices, matrices_to_angles
from .sam import load_sam
from .skeleton import Skeleton

__all__ = [
    "GROUPS",
    "PARTS",
    "Body",
    "KeypointDef",
    "KeypointSet",
    "Pose",
    "Skeleton",
    "angles_to_matrices",
    "load_body",
    "matrices_to_angles",
    "mirror_group",
]


def load_body(model: str = "parametric", **options) -> Body:
    """Load a body by name or path.

    ``"parametric"`` builds the built-in mouse (options: its shape parameters); ``"sam"`` loads SAM from the user
    cache (after ``synthmouse model fetch sam``); a folder of the SAM text export loads SAM from there; a
    ``.gltf``/``.glb`` file loads a glTF skin. Options are passed to the loader.
    """
    if model == "parametric":
        return build_parametric_mouse(**options)
    if model == "sam":
        return load_sam(None, **options)
    path = Path(model)
    if path.suffix.lower() in (".gltf", ".glb"):
        return load_gltf(path, **options)
    if path.is_dir():
        return load_sam(path, **options)
    raise ModelFormatError(
        path, "unknown body model; allowed: 'parametric', 'sam', a SAM text folder, or a .gltf/.glb file"
    )
