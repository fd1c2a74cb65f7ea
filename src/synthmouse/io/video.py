"""Video frames through PyAV (FFmpeg): open a video, its frame count, frame rate and size, frames by index
(seek and decode) or one after another.

Frames come as ``uint8`` arrays in the colour a caller asks for: ``"gray"`` ``(H, W)``, ``"bgr"`` or ``"rgb"``
``(H, W, 3)``. FFmpeg converts each decoded frame to 24-bit BGR and grayscale is taken from it with OpenCV's
weights (``cv2.cvtColor``), as ``cv2.VideoCapture`` followed by ``cv2.cvtColor`` gives them. Frame ``i`` is the
``i``-th decoded frame of the first video stream, as ``cv2.VideoCapture`` counts them. Every error is a
:class:`VideoError` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import SynthmouseError

Colour = Literal["gray", "bgr", "rgb"]
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm", ".wmv")


class VideoError(SynthmouseError):
    """A video cannot be opened or a frame cannot be read."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds.

    Attributes:
        path: the file.
        n_frames: frames in the first video stream (from the container, else from its duration and rate;
            0 where neither is known).
        fps: frames per second (average rate), 0.0 where unknown.
        width, height: frame size in pixels.
    """

    path: Path
    n_frames: int
    fps: float
    width: int
    height: int

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.width, self.height


class VideoReader:
    """An open video (use as a context manager, or call :meth:`close`).

    Example::

        with open_video("session.mp4") as video:
            first = video.read(0, "gray")
            for index, frame in video.frames([10, 20, 30], "bgr"):
                ...
    """

    def __init__(self, path: str | Path):
        import av

        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: video file not found")
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise VideoError(f"{self.path}: cannot open this video ({exc})") from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoError(f"{self.path}: no video stream in this file")
        self._stream = self._container.streams.video[0]
        self.info = _info(self.path, self._stream)

    # ------------------------------------------------------------------ context
    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the file."""
        self._container.close()

    # ------------------------------------------------------------------ properties
    @property
    def n_frames(self) -> int:
        """Frames in the video as the container reports them (0: unknown; :meth:`frames` reads to the end)."""
        return self.info.n_frames

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.info.size

    # ------------------------------------------------------------------ reading
    def frames(self, indices: Iterable[int] | None = None, colour: Colour = "gray") -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` for every frame (``indices`` None) or the frames ``indices``, in increasing order,
        decoding the video from its start once (frames past the end are left out)."""
        wanted = None if indices is None else set(int(i) for i in indices)
        last = max(wanted) if wanted else (-1 if wanted is not None else None)
        self._rewind()
        for index, frame in enumerate(self._decoded()):
            if last is not None and index > last:
                return
            if wanted is None or index in wanted:
                yield index, _to_array(frame, colour)

    def read(self, index: int, colour: Colour = "gray") -> np.ndarray:
        """Frame ``index`` (0-based): a seek to the key frame before it, then decoding up to it.

        Raises:
            VideoError: ``index`` outside the video, or the frame cannot be decoded.
        """
        index = int(index)
        if index < 0 or (self.n_frames and index >= self.n_frames):
            raise VideoError(f"{self.path}: frame {index} outside 0..{self.n_frames - 1}")
        target = self._pts_of(index)
        if target is None:  # no timing to seek by: decode from the start
            found = next((f for i, f in self.frames([index], colour)), None)
        else:
            found = self._seek_decode(target, colour)
        if found is None:
            raise VideoError(f"{self.path}: frame {index} cannot be read (the video has fewer frames)")
        return found

    # ------------------------------------------------------------------ internals
    def _decoded(self):
        import av

        try:
            yield from self._container.decode(self._stream)
        except av.FFmpegError as exc:
            raise VideoError(f"{self.path}: cannot decode this video ({exc})") from None

    def _rewind(self) -> None:
        self._container.seek(0, stream=self._stream, backward=True, any_frame=False)

    def _start_pts(self) -> int:
        return int(self._stream.start_time or 0)

    def _pts_of(self, index: int) -> int | None:
        rate, base = self._stream.average_rate, self._stream.time_base
        if not rate or not base:
            return None
        return self._start_pts() + round(Fraction(index) / Fraction(rate) / Fraction(base))

    def _seek_decode(self, target: int, colour: Colour) -> np.ndarray | None:
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        half = self._half_frame_pts()
        for frame in self._decoded():
            if frame.pts is None:
                continue
            if frame.pts >= target - half:
                return _to_array(frame, colour) if frame.pts <= target + half else None
        return None

    def _half_frame_pts(self) -> int:
        rate, base = self._stream.average_rate, self._stream.time_base
        return max(0, int(Fraction(1) / Fraction(rate) / Fraction(base) / 2)) if rate and base else 0


def open_video(path: str | Path) -> VideoReader:
    """Open a video for reading (see :class:`VideoReader`).

    Raises:
        VideoError: the file is missing, not a video, or has no video stream.
    """
    return VideoReader(path)


def video_info(path: str | Path) -> VideoInfo:
    """Frame count, frame rate and size of a video."""
    with open_video(path) as video:
        return video.info


def read_frames(path: str | Path, indices: Iterable[int] | None = None, colour: Colour = "gray") -> list[np.ndarray]:
    """The frames ``indices`` (sorted; all without) of a video, decoded in one pass."""
    with open_video(path) as video:
        return [frame for _, frame in video.frames(indices, colour)]


def _info(path: Path, stream) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else 0.0
    count = int(stream.frames or 0)
    if count <= 0 and stream.duration and stream.time_base and fps:
        count = round(float(stream.duration * stream.time_base) * fps)
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    return VideoInfo(path=path, n_frames=count, fps=fps, width=width, height=height)


def _to_array(frame, colour: Colour) -> np.ndarray:
    import cv2

    bgr = frame.to_ndarray(format="bgr24")
    if colour == "bgr":
        return bgr
    if colour == "rgb":
        return np.ascontiguousarray(bgr[..., ::-1])
    if colour == "gray":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    raise ValueError(f"colour {colour!r}; allowed: gray, bgr, rgb")


__all__ = ["VIDEO_SUFFIXES", "VideoError", "VideoInfo", "VideoReader", "open_video", "read_frames", "video_info"]
