"""The error every step of camera fitting raises for bad input or a fit it cannot make."""

from __future__ import annotations

from synthmouse.errors import SynthmouseError


class CameraFitError(SynthmouseError):
    """Bad points, frame or rig for ``fit-camera``, or a camera fit that failed or was refused."""
