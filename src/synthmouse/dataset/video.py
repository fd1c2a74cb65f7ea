"""One H.264 ``.mp4`` per camera, encoded from the dataset's images in frame order (PyAV).

Encoding from the saved images (rather than while rendering) keeps runs resumable and guarantees that video
frame ``i`` is image ``i``. The default is lossless (``libx264rgb``, ``qp=0``, RGB 4:4:4): decoded frames
equal the images exactly. ``crf > 0`` gives ordinary ``libx264`` yuv420p video that every player opens, at
near-lossless quality for small CRFs (Lightning Pose's video reader needs this yuv420p kind). After writing,
the video is decoded again to check the frame count and that the first and last frames match their images
(exactly when lossless; otherwise luma PSNR >= 35 dB, as 4:2:0 video keeps a quarter of the colour
resolution).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import OutputError, SynthmouseError
from ..fileio import atomic_path
from .table import Dataset

MIN_PSNR_DB = 35.0


def video_missing() -> str | None:
    """``None`` when PyAV is installed, else what to install."""
    try:
        import av  # noqa: F401
    except ImportError:
        return "--video needs PyAV: pip install av (or the 'video' extra)"
    return None


def write_videos(dataset: Dataset, crf: int = 0) -> list[Path]:
    """Encode ``videos/<camera>.mp4`` for every camera; return their paths."""
    out = []
    for c, cam in enumerate(dataset.meta.cameras):
        images = [dataset.root / rel for rel in dataset.table.images[c]]
        path = dataset.layout.video_path(cam.name)
        encode_video(images, path, dataset.meta.fps, crf)
        check_video(path, images, lossless=crf == 0)
        out.append(path)
    return out


def encode_video(images: list[Path], path: Path, fps: float, crf: int = 0) -> None:
    """Encode the images (all the same size) into an H.264 mp4 at ``fps``, atomically."""
    import av

    first = _read_rgb(images[0])
    height, width = first.shape[:2]
    if crf > 0 and (width % 2 or height % 2):
        raise SynthmouseError(
            f"{path}: yuv420p video needs even image sizes, got {width} x {height}; use --video-crf 0 (lossless)"
        )
    rate = Fraction(fps).limit_denominator(1001)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            if crf == 0:
                options = {"qp": "0", "preset": "veryfast"}
                stream = container.add_stream("libx264rgb", rate=rate, options=options)
                stream.pix_fmt, fmt = "rgb24", "rgb24"
            else:
                options = {"crf": str(crf), "preset": "medium"}
                stream = container.add_stream("libx264", rate=rate, options=options)
                stream.pix_fmt, fmt = "yuv420p", "yuv420p"
            stream.width, stream.height = width, height
            for path_i in images:
                rgb = _read_rgb(path_i)
                if rgb.shape[:2] != (height, width):
                    raise OutputError(f"{path_i}: image size {rgb.shape[1]} x {rgb.shape[0]} differs from the video")
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                if fmt != "rgb24":
                    frame = frame.reformat(format=fmt)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)


def decode_frames(path: Path):
    """Iterate the ``(H, W, 3) uint8`` RGB frames of a video in order."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def check_video(path: Path, images: list[Path], lossless: bool) -> None:
    """Raise :class:`OutputError` unless the video has one frame per image and its ends match the images."""
    n = 0
    first = last = None
    for frame in decode_frames(path):
        if first is None:
            first = frame
        last = frame
        n += 1
    if n != len(images):
        raise OutputError(f"{path}: video has {n} frames, expected {len(images)} (one per image)")
    for frame, image in ((first, images[0]), (last, images[-1])):
        ref = _read_rgb(image)
        if lossless and not np.array_equal(frame, ref):
            raise OutputError(f"{path}: lossless video frame differs from {image}")
        if not lossless and (value := psnr(luma(frame), luma(ref))) < MIN_PSNR_DB:
            raise OutputError(f"{path}: video frame luma PSNR {value:.1f} dB < {MIN_PSNR_DB} vs {image}")


def luma(rgb: np.ndarray) -> np.ndarray:
    """``(H, W) float64`` BT.601 luma of an RGB image (what video keeps at full resolution)."""
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two images with values in 0..255 (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OutputError(f"{path}: cannot read image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
