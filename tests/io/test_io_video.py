"""synthmouse.io.video: PyAV frames agree exactly with cv2.VideoCapture (in order and by seeking)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from synthmouse.io.video import VideoError, open_video, read_frames, video_info

N, W, H, FPS = 24, 64, 48, 25


def _frame(i: int) -> np.ndarray:
    image = np.zeros((H, W, 3), np.uint8)
    image[:] = ((i * 9) % 256, 90, 40)
    image[8:20, i : i + 12] = 255
    cv2.circle(image, (40, 30), 3 + i % 5, (0, 200, 255), -1)
    return image


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for i in range(N):
        writer.write(_frame(i))
    writer.release()
    return path


def _opencv_frames(path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_info_and_frames_in_order_equal_opencv(video):
    info = video_info(video)
    assert (info.n_frames, info.fps, info.size) == (N, float(FPS), (W, H))
    reference = _opencv_frames(video)
    assert len(reference) == N
    with open_video(video) as reader:
        bgr = [frame for _, frame in reader.frames(colour="bgr")]
        gray = [frame for _, frame in reader.frames(colour="gray")]
        rgb = dict(reader.frames([3, 7], colour="rgb"))
    assert len(bgr) == N
    for i in range(N):
        np.testing.assert_array_equal(bgr[i], reference[i])  # exactly, not within 1 DN
        np.testing.assert_array_equal(gray[i], cv2.cvtColor(reference[i], cv2.COLOR_BGR2GRAY))
    assert sorted(rgb) == [3, 7]
    np.testing.assert_array_equal(rgb[7], reference[7][..., ::-1])


def test_seeking_by_index_gives_the_frame_reading_in_order_gives(video):
    reference = _opencv_frames(video)
    with open_video(video) as reader:
        for index in (N - 1, 0, 13, 12, 5, 5):
            np.testing.assert_array_equal(reader.read(index, "bgr"), reference[index])
        with pytest.raises(VideoError, match=f"clip.mp4: frame {N} outside 0..{N - 1}"):
            reader.read(N)
    picked = read_frames(video, [2, 20, 2], "gray")
    assert len(picked) == 2
    np.testing.assert_array_equal(picked[1], cv2.cvtColor(reference[20], cv2.COLOR_BGR2GRAY))


def test_errors_name_the_file(tmp_path):
    with pytest.raises(VideoError, match="missing.mp4: video file not found"):
        open_video(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all")
    with pytest.raises(VideoError, match="junk.mp4: cannot open this video"):
        open_video(tmp_path / "junk.mp4")
