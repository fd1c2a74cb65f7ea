"""Click the rig points on the median frame in an OpenCV window (``fit-camera --click``)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np

from .errors import CameraFitError


def click_points(
    image: np.ndarray, names: Sequence[str], window: str = "synthmouse fit-camera"
) -> dict[str, tuple[float, float]]:
    """Let the user click each named point on ``image`` (left click: place, right click / Esc: skip).

    Raises:
        CameraFitError: when there is no display or OpenCV was built without windows (headless).
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and os.name != "nt":
        raise CameraFitError(
            "no display: cannot open a window to click points; write them into a points file "
            "(YAML 'points: {floor_nw: [u, v], ...}') instead"
        )
    clicks: list = []

    def on_mouse(event, u, v, flags, param) -> None:  # noqa: ARG001 - OpenCV's callback signature
        if event == cv2.EVENT_LBUTTONDOWN:
            clicks.append((float(u), float(v)))
        elif event == cv2.EVENT_RBUTTONDOWN:
            clicks.append(None)

    try:
        cv2.namedWindow(window, cv2.WINDOW_NORMAL)
        cv2.setMouseCallback(window, on_mouse)
    except cv2.error as exc:
        raise CameraFitError(
            f"OpenCV cannot open a window here ({exc.err.strip() if hasattr(exc, 'err') else exc}); "
            "write the points into a points file instead"
        ) from None
    out: dict[str, tuple[float, float]] = {}
    try:
        for name in names:
            clicks.clear()
            shown = image.copy()
            cv2.putText(
                shown,
                f"click {name} (right click: skip)",
                (10, 20),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.6,
                (0, 0, 255),
                2,
            )
            while not clicks:
                cv2.imshow(window, shown)
                if cv2.waitKey(30) == 27:
                    clicks.append(None)
            if clicks[0] is not None:
                out[name] = clicks[0]
    finally:
        cv2.destroyWindow(window)
    return out
