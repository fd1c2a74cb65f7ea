"""Fit the real camera (intrinsics, radial distortion, pose) to a video of the rig: ``synthmouse fit-camera``.

One entry point, :func:`fit_camera` (:mod:`.run`), does the whole job from a :class:`CameraFitRequest`; the
steps live in small modules:

* :mod:`.features`: the rig's named points and segments (open field, wheel); :func:`propose_floor_corners`
  finds the arena floor's corners in the median frame;
* :mod:`.points`: the points file (read, or written by ``--propose`` / ``--click``);
* :mod:`.edges`: Canny edges with sub-pixel positions and a nearest-edge lookup;
* :mod:`.fit`: the optimizer (rig points, then image edges);
* :mod:`.check`: refuses degenerate fits (parameters at bounds, rms, implausible focal length or distance, a
  folding lens, the mouse out of view);
* :mod:`.clicks`: the click window; :mod:`.figures`: the PNGs to check a fit or a proposal by eye;
* :mod:`.scene_edit`: changes values in the user's scene file in place, keeping its layout and comments.
"""

from __future__ import annotations

from .check import FitCheck, FitProblem, check_fit, scene_view_problems, visible_points
from .edges import EdgeMap, edge_map
from .errors import CameraFitError
from .features import (
    FLOOR_CORNERS,
    CornerProposal,
    RigFeatures,
    openfield_features,
    propose_floor_corners,
    rig_features,
    wheel_features,
)
from .fit import CameraFit, FitOptions, fit_camera_points, fit_points_and_edges, refine_to_edges
from .points import Correspondences, load_correspondences
from .run import CameraFitRequest, CameraFitResult, Notice, ReferenceFrame, fit_camera, fitted_camera_name
from .scene_edit import write_camera_to_scene

__all__ = [
    "FLOOR_CORNERS",
    "CameraFit",
    "CameraFitError",
    "CameraFitRequest",
    "CameraFitResult",
    "CornerProposal",
    "Correspondences",
    "EdgeMap",
    "FitCheck",
    "FitOptions",
    "FitProblem",
    "Notice",
    "ReferenceFrame",
    "RigFeatures",
    "check_fit",
    "edge_map",
    "fit_camera",
    "fit_camera_points",
    "fit_points_and_edges",
    "fitted_camera_name",
    "load_correspondences",
    "openfield_features",
    "propose_floor_corners",
    "refine_to_edges",
    "rig_features",
    "scene_view_problems",
    "visible_points",
    "wheel_features",
    "write_camera_to_scene",
]
