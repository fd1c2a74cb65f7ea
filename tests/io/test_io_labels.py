"""synthmouse.io.labels: one label type and one reader for DeepLabCut (CSV, h5, multi-animal, projects), SLEAP
and Lightning Pose, with errors that name the file, the row, the column, the bad value and what is allowed."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from synthmouse.io.labels import LabelError, LabelledFrames, concatenate, read_labels, recorded_fps

NAMES = ("nose", "left_ear", "tail_root")


def _table(xy: np.ndarray, index, names=NAMES, individuals=None, likelihood=None) -> pd.DataFrame:
    """A DeepLabCut table (``xy (N, K, 2)`` per individual when ``individuals``)."""
    coords = ["x", "y"] + (["likelihood"] if likelihood is not None else [])
    blocks = [xy] if individuals is None else list(xy)
    likes = [likelihood] if individuals is None else list(likelihood or [None] * len(blocks))
    values = []
    for block, like in zip(blocks, likes, strict=True):
        parts = [block[..., :2]] + ([like[..., None]] if like is not None else [])
        values.append(np.concatenate(parts, axis=-1).reshape(len(block), -1))
    levels = [["me"], *([individuals] if individuals else []), list(names), coords]
    level_names = ["scorer", *(["individuals"] if individuals else []), "bodyparts", "coords"]
    columns = pd.MultiIndex.from_product(levels, names=level_names)
    return pd.DataFrame(np.concatenate(values, axis=1), index=index, columns=columns)


def _images(folder, n, size=(40, 30)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"img{i}.png"), np.full((size[1], size[0]), 100, np.uint8))


def _xy(n, seed=0):
    xy = np.random.default_rng(seed).uniform(2, 28, size=(n, len(NAMES), 2)).round(2)
    xy[1, 2] = np.nan
    return xy


def test_dlc_csv_and_h5_give_the_same_frames(tmp_path):
    xy = _xy(3)
    index = pd.MultiIndex.from_tuples([("labeled-data", "s1", f"img{i}.png") for i in range(3)])
    frame = _table(xy, index)
    frame.to_csv(tmp_path / "CollectedData_me.csv")
    frame.to_hdf(tmp_path / "CollectedData_me.h5", key="df_with_missing")
    for file in ("CollectedData_me.csv", "CollectedData_me.h5"):
        labels = read_labels(tmp_path / file)
        assert isinstance(labels, LabelledFrames)
        assert labels.names == tuple(NAMES)
        assert labels.keys == tuple(f"labeled-data/s1/img{i}.png" for i in range(3))
        np.testing.assert_array_equal(labels.xy, xy)
        assert labels.confidence[1, 2] == 0.0 and labels.confidence[0, 0] == 1.0
        assert labels.images[0] == tmp_path / "img0.png"
    assert read_labels(tmp_path / "CollectedData_me.csv").first_line == 4


def test_multi_animal_table_gives_the_named_individual(tmp_path):
    a, b = _xy(4, 1), _xy(4, 2)
    like = [np.full((4, 3), 0.9), np.full((4, 3), 0.4)]
    frame = _table(np.stack([a, b]), list(range(4)), individuals=["m1", "m2"], likelihood=like)
    frame.to_hdf(tmp_path / "pred.h5", key="df")
    frame.to_csv(tmp_path / "pred.csv")
    for file in ("pred.h5", "pred.csv"):
        np.testing.assert_array_equal(read_labels(tmp_path / file).xy, a)  # the first by default
        second = read_labels(tmp_path / file, individual="m2")
        np.testing.assert_array_equal(second.xy, b)
        assert np.allclose(second.confidence[np.isfinite(b).all(-1)], 0.4)
        np.testing.assert_array_equal(read_labels(tmp_path / file, individual=1).xy, b)
        assert np.isnan(second.confident(0.6).xy).all()
    with pytest.raises(LabelError, match=r"pred.h5: individual 'm3' not found; the file has \['m1', 'm2'\]"):
        read_labels(tmp_path / "pred.h5", individual="m3")


def test_dlc_project_is_read_and_checked_per_session(tmp_path):
    xy = _xy(3)
    for session in ("s1", "s2"):
        folder = tmp_path / "labeled-data" / session
        _images(folder, 3)
        index = pd.MultiIndex.from_tuples([("labeled-data", session, f"img{i}.png") for i in range(3)])
        _table(xy, index).to_hdf(folder / "CollectedData_me.h5", key="df_with_missing")
    labels = read_labels(tmp_path, check=True)
    assert len(labels) == 6 and labels.sizes.tolist() == [[40, 30]] * 6
    assert labels.images[3] == tmp_path / "labeled-data" / "s2" / "img0.png"
    np.testing.assert_array_equal(labels.xy[3:], xy)
    (tmp_path / "labeled-data" / "s2" / "img1.png").unlink()
    with pytest.raises(LabelError, match=r"1 of 3 labelled images not found .* img1.png \(row 2\)"):
        read_labels(tmp_path, check=True)
    assert len(read_labels(tmp_path)) == 6  # without check, images are not opened


def test_lightning_pose_project_resolves_images_under_its_root(tmp_path):
    xy = _xy(2)
    _images(tmp_path / "labeled-data" / "vid1", 2)
    index = [f"labeled-data/vid1/img{i}.png" for i in range(2)]
    _table(xy, index).to_csv(tmp_path / "CollectedData.csv")
    labels = read_labels(tmp_path, check=True)
    assert labels.keys == tuple(index) and labels.images[1] == tmp_path / "labeled-data" / "vid1" / "img1.png"
    np.testing.assert_array_equal(labels.xy, xy)


def test_sleap_file_written_by_sleap_io(tmp_path):
    sio = pytest.importorskip("sleap_io")
    skeleton = sio.Skeleton(list(NAMES))
    video = sio.Video(filename="fake.mp4")
    rng = np.random.default_rng(5)
    frames, truth, scores = [], {}, {}
    for f in (1, 4):
        pts = rng.uniform(0, 300, size=(3, 2))
        sc = rng.uniform(0.2, 1.0, size=3)
        inst = sio.PredictedInstance.from_numpy(pts, skeleton=skeleton, point_scores=sc, score=0.9)
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=[inst]))
        truth[f], scores[f] = pts, sc
    sio.save_slp(sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton]), str(tmp_path / "p.slp"))
    labels = read_labels(tmp_path / "p.slp")
    assert labels.names == tuple(NAMES) and labels.keys == ("1", "4") and labels.frames.tolist() == [1, 4]
    np.testing.assert_allclose(labels.xy, [truth[1], truth[4]])
    np.testing.assert_allclose(labels.confidence, [scores[1], scores[4]])
    dense = labels.dense()
    assert len(dense) == 5 and np.isnan(dense.xy[[0, 2, 3]]).all() and (dense.confidence[0] == 0).all()
    np.testing.assert_allclose(dense.xy[4], truth[4])
    assert recorded_fps(tmp_path / "p.slp") is None and recorded_fps(tmp_path / "x.csv") is None


def test_select_reorder_subset_and_concatenate():
    a = LabelledFrames(names=("a", "b"), xy=np.arange(8.0).reshape(2, 2, 2), keys=("r0", "r1"), images=("i0", "i1"))
    sel = a.select(["b", "z", "first"], {"first": "a"})
    np.testing.assert_array_equal(sel.xy[:, 0], a.xy[:, 1])
    assert np.isnan(sel.xy[:, 1]).all() and (sel.confidence[:, 1] == 0).all()
    np.testing.assert_array_equal(sel.xy[:, 2], a.xy[:, 0])
    sub = a.subset([1])
    assert sub.keys == ("r1",) and sub.images == (a.images[1],) and sub.xy.shape == (1, 2, 2)
    assert a.renamed({"a": "nose"}).names == ("nose", "b")
    b = LabelledFrames(names=("b", "a"), xy=np.zeros((1, 2, 2)), keys=("q",), images=("j",))
    both = concatenate([a, b])
    assert both.names == ("a", "b") and both.keys == ("r0", "r1", "q") and len(both.images) == 3
    np.testing.assert_array_equal(a.lookup("r1"), a.xy[1])


def test_bad_inputs_name_file_row_column_value_and_what_is_allowed(tmp_path):
    index = pd.MultiIndex.from_tuples([("labeled-data", "s1", f"img{i}.png") for i in range(2)])
    _table(_xy(2), index).to_csv(tmp_path / "CollectedData_me.csv")
    text = (tmp_path / "CollectedData_me.csv").read_text().splitlines()
    cells = text[4].split(",")
    cells[5] = "abc"  # left_ear x of the second data row
    text[4] = ",".join(cells)
    (tmp_path / "CollectedData_me.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(LabelError) as info:
        read_labels(tmp_path / "CollectedData_me.csv")
    assert str(info.value) == (
        f"{tmp_path / 'CollectedData_me.csv'}, line 5 (labeled-data/s1/img1.png): left_ear x = 'abc' is not a "
        "number; allowed: a number or empty"
    )
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(LabelError, match=r"notes.txt: unknown label file type '.txt'; allowed: .csv, .h5"):
        read_labels(tmp_path / "notes.txt")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(LabelError, match="bad.csv: not a DeepLabCut table"):
        read_labels(tmp_path / "bad.csv")
    with pytest.raises(LabelError, match="nowhere: no such file or folder"):
        read_labels(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabelError, match="no CollectedData_"):
        read_labels(tmp_path / "empty")
    huge = _xy(2)
    huge[0, 0, 0] = 1e9
    _table(huge, [f"img{i}.png" for i in range(2)]).to_csv(tmp_path / "huge.csv")
    with pytest.raises(LabelError, match=r"huge.csv, line 4 \(img0.png\): nose x = 1e\+09 is not a pixel coordinate"):
        read_labels(tmp_path / "huge.csv", check=True)
