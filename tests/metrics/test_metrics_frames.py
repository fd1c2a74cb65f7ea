"""Reading frame sets and DeepLabCut keypoint tables for the metrics (real folders, videos, predictions)."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from synthmouse.io.labels import LabelError, read_dlc_table
from synthmouse.metrics.errors import MetricsError
from synthmouse.metrics.frames import even_picks, load_frame_set


def test_real_dlc2_labels_match_pandas_reading_the_h5(openfield_dir):
    folder = openfield_dir / "labeled-data" / "m4s1"
    table = read_dlc_table(folder / "CollectedData_Pranav.csv")
    reference = pd.read_hdf(folder / "CollectedData_Pranav.h5")
    assert table.names == ("snout", "leftear", "rightear", "tailbase")
    assert table.keys == tuple(reference.index)
    np.testing.assert_allclose(table.xy.reshape(len(reference), -1), reference.to_numpy(), equal_nan=True)
    h5 = read_dlc_table(folder / "CollectedData_Pranav.h5")
    np.testing.assert_allclose(h5.xy, table.xy, equal_nan=True)


def test_labelled_project_loads_grayscale_frames_with_their_labels(openfield_dir):
    frames = load_frame_set(openfield_dir, "real", max_frames=10)
    assert len(frames) == 10 and frames.size == (640, 480) and frames.images.dtype == np.uint8
    key = frames.keys[3]
    reference = cv2.imread(str(openfield_dir / key), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(frames.images[3], reference)
    labels = pd.read_csv(openfield_dir / "labeled-data/m4s1/CollectedData_Pranav.csv", header=[0, 1, 2], index_col=0)
    np.testing.assert_allclose(frames.keypoints[3].ravel(), labels.loc[key].to_numpy())


def test_dlc3_three_level_table_and_predictions_with_likelihood(tmp_path):
    columns = pd.MultiIndex.from_product(
        [["me"], ["nose", "tail"], ["x", "y"]], names=["scorer", "bodyparts", "coords"]
    )
    index = pd.MultiIndex.from_tuples([("labeled-data", "s1", "img0.png"), ("labeled-data", "s1", "img1.png")])
    frame = pd.DataFrame([[1.0, 2.0, 3.0, 4.0], [5.0, np.nan, 7.0, 8.0]], index=index, columns=columns)
    frame.to_csv(tmp_path / "CollectedData_me.csv")
    table = read_dlc_table(tmp_path / "CollectedData_me.csv")
    assert table.keys == ("labeled-data/s1/img0.png", "labeled-data/s1/img1.png")
    np.testing.assert_allclose(table.xy, frame.to_numpy().reshape(2, 2, 2), equal_nan=True)
    np.testing.assert_allclose(table.lookup("img1.png"), [[5.0, np.nan], [7.0, 8.0]], equal_nan=True)

    pred_cols = pd.MultiIndex.from_product(
        [["DLC_net"], ["nose"], ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    preds = pd.DataFrame([[10.0, 20.0, 0.99], [11.0, 21.0, 0.2]], index=[0, 7], columns=pred_cols)
    preds.to_csv(tmp_path / "videoDLC_net.csv")
    table = read_dlc_table(tmp_path / "videoDLC_net.csv").confident(0.6)
    assert table.keys == ("0", "7")
    np.testing.assert_allclose(table.xy[:, 0], [[10.0, 20.0], [np.nan, np.nan]], equal_nan=True)


def test_video_frames_with_predictions_as_labels(openfield_dir, tmp_path):
    video = openfield_dir / "videos" / "m3v1mp4.mp4"
    cols = pd.MultiIndex.from_product(
        [["DLC"], ["snout", "tailbase"], ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    preds = pd.DataFrame([[1.0, 2.0, 0.9, 3.0, 4.0, 0.9], [5.0, 6.0, 0.9, 7.0, 8.0, 0.1]], index=[3, 40], columns=cols)
    preds.to_csv(tmp_path / "pred.csv")
    frames = load_frame_set(video, "real", max_frames=5, labels=tmp_path / "pred.csv")
    assert frames.keys == ("m3v1mp4.mp4#3", "m3v1mp4.mp4#40")  # the frames that carry predictions
    np.testing.assert_allclose(frames.keypoints, [[[1, 2], [3, 4]], [[5, 6], [np.nan, np.nan]]], equal_nan=True)
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 3)
    ok, bgr = capture.read()
    capture.release()
    assert ok
    diff = np.abs(frames.images[0].astype(int) - cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(int))
    assert diff.max() == 0  # PyAV decodes as OpenCV does
    plain = load_frame_set(video, "real", max_frames=4)
    assert len(plain) == 4 and plain.keypoints is None and not plain.has_labels


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(MetricsError, match="no such folder or video"):
        load_frame_set(tmp_path / "nowhere", "real")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MetricsError, match="no images"):
        load_frame_set(tmp_path / "empty", "real")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(MetricsError, match="not a video"):
        load_frame_set(tmp_path / "notes.txt", "real")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    cv2.imwrite(str(mixed / "a.png"), np.zeros((10, 12), np.uint8))
    cv2.imwrite(str(mixed / "b.png"), np.zeros((11, 12), np.uint8))
    with pytest.raises(MetricsError, match="one size"):
        load_frame_set(mixed, "real")
    (mixed / "b.png").unlink()
    assert load_frame_set(mixed, "real").keypoints is None
    with pytest.raises(MetricsError, match="no labeled-data/cam9"):
        load_frame_set(mixed, "synthetic", session="cam9")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(LabelError, match="not a DeepLabCut table"):
        read_dlc_table(bad)


def test_even_picks_spread_over_the_range():
    assert list(even_picks(10, 4)) == [0, 3, 6, 9]
    assert list(even_picks(3, 10)) == [0, 1, 2]
    assert len(even_picks(0, 5)) == 0
