"""The error of the realism metrics and the report."""

from __future__ import annotations

from ..errors import SynthmouseError


class MetricsError(SynthmouseError):
    """Bad input to a realism metric or the report (missing folder, no images, unknown keypoint ...)."""
