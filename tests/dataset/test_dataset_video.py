"""--video: one mp4 per camera whose frames equal the images (lossless) in number and order."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fakes.dataset import image_path, make_dataset

pytest.importorskip("av")

from synthmouse.dataset.video import decode_frames, luma, psnr  # noqa: E402

FRAMES = 7


def _image(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_lossless_video_frames_equal_images_in_order(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=FRAMES, seed=4, formats=("dlc",), video=True)
    for cam in ("top", "side"):
        frames = list(decode_frames(root / "videos" / f"synth_{cam}.mp4"))
        assert len(frames) == FRAMES
        for i, frame in enumerate(frames):
            np.testing.assert_array_equal(frame, _image(image_path(root, cam, i)))
        # and the container agrees with OpenCV, which DeepLabCut and SLEAP read videos with
        cap = cv2.VideoCapture(str(root / "videos" / f"synth_{cam}.mp4"))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
        cap.release()


def test_yuv420_video_is_near_lossless(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=3, seed=4, formats=("dlc",), video=True, video_crf=8, size=(48, 40))
    frames = list(decode_frames(root / "videos" / "synth_top.mp4"))
    assert len(frames) == 3
    assert psnr(luma(frames[1]), luma(_image(image_path(root, "top", 1)))) > 35
