"""Pictures to check a fit or a proposal by eye: the rig over the frame, the proposed corners with insets."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from synthmouse.fileio import atomic_path
from synthmouse.scene.camera import Camera

from .errors import CameraFitError
from .features import CornerProposal, gray_uint8
from .fit import CameraFit
from .points import Correspondences


def project_segments(
    camera: Camera, segments: np.ndarray, scale=(1.0, 1.0, 1.0), samples: int = 200
) -> list[np.ndarray]:
    """Each segment (world, before ``scale``) as an ``(n, 2)`` distorted image polyline (projectable part)."""
    out = []
    t = np.linspace(0.0, 1.0, samples)[:, None]
    for a, b in np.asarray(segments, dtype=np.float64):
        pts = (a + t * (b - a)) * np.asarray(scale)
        ok = camera.projectable(pts)
        if ok.sum() >= 2:
            out.append(camera.project(pts[ok]))
    return out


def draw_overlay(
    image: np.ndarray,
    fit: CameraFit,
    segments: np.ndarray,
    corr: Correspondences | None = None,
    title: str | None = None,
) -> np.ndarray:
    """``(H, W, 3) uint8`` BGR picture: the frame, the projected rig segments (green), the clicked points (red
    crosses) and their reprojections (blue circles), and the RMS errors."""
    img = np.asarray(image)
    canvas = (
        cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if img.ndim == 2
        else (
            cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.shape[2] == 3 else cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2BGR)
        )
    )
    canvas = canvas.copy()
    shift = 4
    for line in project_segments(fit.camera, segments, fit.scale):
        pts = np.round(line * (1 << shift)).astype(np.int32)
        cv2.polylines(canvas, [pts], False, (0, 200, 0), 1, cv2.LINE_AA, shift)
    if corr is not None:
        reproj = fit.camera.project(corr.world * fit.scale)
        for (u, v), (ru, rv) in zip(corr.pixels, reproj, strict=True):
            cv2.drawMarker(canvas, (int(round(u)), int(round(v))), (0, 0, 255), cv2.MARKER_CROSS, 9, 1)
            cv2.circle(canvas, (int(round(ru * 16)), int(round(rv * 16))), 4 * 16, (255, 80, 0), 1, cv2.LINE_AA, 4)
    text = title or (
        f"points rms {fit.rms_px:.2f} px"
        + (
            f", edges rms {fit.edge_rms_px:.2f} px ({fit.edge_matches} samples)"
            if math.isfinite(fit.edge_rms_px)
            else ""
        )
    )
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    y = canvas.shape[0] - 8
    cv2.rectangle(canvas, (4, y - th - 4), (12 + tw, y + base), (0, 0, 0), -1)
    cv2.putText(canvas, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def save_png(path: str | Path, bgr: np.ndarray) -> None:
    """Write a BGR image atomically as PNG."""
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise CameraFitError(f"{path}: could not write the image")


def draw_proposal(image: np.ndarray, proposal: CornerProposal, zoom: int | None = None, radius: int = 15) -> np.ndarray:
    """``(H, W + panel, 3) uint8`` BGR picture to check a proposal by eye: the frame with the fitted sides
    (yellow) and every named point (red cross and label), and beside it a panel with a magnified inset
    (``zoom``, default: what fits two rows) of the ``radius`` px around each point, laid out as the points are
    (top-left point top-left), and a legend."""
    gray = gray_uint8(image)
    frame = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    h, w = gray.shape
    base = frame.copy()
    shift = 4
    yellow, red, white, black = (0, 220, 255), (0, 0, 255), (255, 255, 255), (0, 0, 0)
    for side in proposal.sides:
        pts = np.round(side * (1 << shift)).astype(np.int32)
        cv2.polylines(frame, [pts], False, yellow, 1, cv2.LINE_AA, shift)
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    gap, legend = 6, 40
    if zoom is None:
        zoom = max(2, min(8, ((h - 3 * gap - legend) // 2) // (2 * radius + 1)))
    size = (2 * radius + 1) * zoom
    rows = max(1, min(2, (h - gap - legend) // (size + gap)))
    panel = np.full((h, 2 * size + 3 * gap, 3), 40, np.uint8)
    for name, (u, v) in proposal.points.items():
        p = np.array([u, v])
        cv2.drawMarker(frame, (round(u), round(v)), red, cv2.MARKER_CROSS, 15, 1, cv2.LINE_AA)
        toward = centre - p
        toward = toward / max(float(np.linalg.norm(toward)), 1e-9)
        label = f"{name} ({u:.1f}, {v:.1f})"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        anchor = p + toward * 24
        x = int(np.clip(anchor[0] - (tw if toward[0] < 0 else 0), 2, w - tw - 2))
        y = int(np.clip(anchor[1] + (th if toward[1] > 0 else 0), th + 2, h - 4))
        cv2.rectangle(frame, (x - 2, y - th - 3), (x + tw + 2, y + 4), black, -1)
        cv2.putText(frame, label, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, white, 1, cv2.LINE_AA)
        # magnified inset of the unmarked frame, with the fitted sides and the point
        x0, y0 = round(u) - radius, round(v) - radius
        crop = np.zeros((2 * radius + 1, 2 * radius + 1, 3), np.uint8)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + 2 * radius + 1, w), min(y0 + 2 * radius + 1, h)
        if sx1 > sx0 and sy1 > sy0:
            crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = base[sy0:sy1, sx0:sx1]
        inset = cv2.resize(crop, (size, size), interpolation=cv2.INTER_NEAREST)
        for side in proposal.sides:  # pixel centre (x0, y0) maps to the inset's (zoom - 1) / 2
            local = (side - [x0, y0]) * zoom + (zoom - 1) / 2.0
            pts = np.round(local * (1 << shift)).astype(np.int32)
            cv2.polylines(inset, [pts], False, yellow, 1, cv2.LINE_AA, shift)
        iu, iv = (u - x0) * zoom + (zoom - 1) / 2.0, (v - y0) * zoom + (zoom - 1) / 2.0
        cv2.drawMarker(inset, (round(iu), round(iv)), red, cv2.MARKER_CROSS, 6 * zoom, 1, cv2.LINE_AA)
        (tw, th), _ = cv2.getTextSize(f"{name} x{zoom}", cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        cv2.rectangle(inset, (0, 0), (tw + 6, th + 6), black, -1)
        cv2.putText(inset, f"{name} x{zoom}", (3, th + 3), cv2.FONT_HERSHEY_SIMPLEX, 0.4, white, 1, cv2.LINE_AA)
        col = 0 if u < centre[0] else 1
        row = 0 if (v < centre[1] or rows == 1) else 1
        ix, iy = gap + col * (size + gap), gap + row * (size + gap)
        if iy + size <= h:
            panel[iy : iy + size, ix : ix + size] = inset
    notes = ["red: proposed point; yellow: fitted floor edge", "a cross off its corner? edit the points file"]
    for i, note in enumerate(notes):
        y = h - legend + 14 + 16 * i
        cv2.putText(panel, note, (gap, y), cv2.FONT_HERSHEY_SIMPLEX, 0.38, white, 1, cv2.LINE_AA)
    return np.concatenate([frame, panel], axis=1)
