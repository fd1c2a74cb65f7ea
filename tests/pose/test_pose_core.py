"""Pose baseline: heatmaps, augmentation geometry, labels, metrics, DeepLabCut tables (fast, no training)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from synthmouse.errors import SynthmouseError
from synthmouse.io.labels import LabelledFrames, read_labels
from synthmouse.io.mapping import parse_mapping
from synthmouse.pose.augment import affine_matrix, apply_affine, invert_affine, warp
from synthmouse.pose.evaluate import (
    body_lengths,
    evaluate_predictions,
    keypoint_errors,
    matched_names,
    summarize,
)
from synthmouse.pose.heatmap import decode_peaks, gaussian_targets
from synthmouse.pose.labels import flip_permutation, mirror_name
from synthmouse.pose.predict import predictions_table, write_predictions

NAMES = ("snout", "leftear", "rightear", "tailbase")


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_gaussian_peak_decodes_to_subpixel_truth(stride):
    rng = np.random.default_rng(3)
    pts = rng.uniform(12, 50, size=(5, 2))
    hm = gaussian_targets(pts, (32, 32), stride, sigma=1.5)
    xy, conf = decode_peaks(hm, stride)
    visible = pts.max(1) < 32 * stride - stride
    assert np.abs(xy[visible] - pts[visible]).max() < 1e-6  # the log-parabola fit is exact for a Gaussian
    assert np.all(conf[visible] > 0.75)


def test_gaussian_nan_point_gives_empty_map():
    hm = gaussian_targets(np.array([[np.nan, np.nan], [5.0, 6.0]]), (8, 8), 2, 1.0)
    assert hm[0].max() == 0.0 and hm[1].max() > 0.5


def test_affine_matches_opencv_rotation_and_warp_moves_a_dot():
    centre, angle, scale = np.array([40.0, 30.0]), np.radians(25.0), 1.3
    m = affine_matrix(centre, angle, scale, False, (64, 64))
    ref = cv2.getRotationMatrix2D((40.0, 30.0), 25.0, 1.3)  # rotation about the centre, then shift it
    ref[:, 2] += np.array([31.5, 31.5]) - centre
    np.testing.assert_allclose(m, ref, atol=1e-12)
    np.testing.assert_allclose(
        apply_affine(invert_affine(m), apply_affine(m, np.array([[3.0, 7.0]]))), [[3.0, 7.0]], atol=1e-9
    )
    image = np.zeros((60, 80), np.uint8)
    cv2.circle(image, (50, 20), 3, 255, -1)
    out = warp(image, m, (64, 64)).astype(float)
    ys, xs = np.mgrid[:64, :64]
    found = np.array([(xs * out).sum(), (ys * out).sum()]) / out.sum()
    np.testing.assert_allclose(found, apply_affine(m, np.array([50.0, 20.0])), atol=0.15)


def test_flip_swaps_left_and_right_names():
    assert mirror_name("leftear") == "rightear" and mirror_name("right_paw") == "left_paw"
    assert mirror_name("hip_l") == "hip_r" and mirror_name("LeftEar") == "RightEar"
    assert mirror_name("snout") is None
    np.testing.assert_array_equal(flip_permutation(NAMES), [0, 2, 1, 3])
    # a flipped image with swapped labels: the left ear is still the animal's left ear
    m = affine_matrix(np.array([10.0, 10.0]), 0.0, 1.0, True, (21, 21))
    np.testing.assert_allclose(apply_affine(m, np.array([[12.0, 10.0]])), [[8.0, 10.0]])


def test_mapping_and_matching():
    assert parse_mapping(["snout=nose", "tailbase=tail_root,leftear=ear_l"]) == {
        "snout": "nose",
        "tailbase": "tail_root",
        "leftear": "ear_l",
    }
    with pytest.raises(SynthmouseError, match="REAL=SYNTHETIC"):
        parse_mapping(["snout"])
    # --map is REAL=SYNTHETIC, {label name: model name}; the rest is matched automatically (same name, aliases)
    pairs = matched_names(NAMES, ("nose", "leftear", "tail_root"), {"nose": "snout"})
    assert pairs == [("snout", "nose"), ("leftear", "leftear"), ("tailbase", "tail_root")]
    with pytest.raises(SynthmouseError, match="muzzle is not a keypoint of the labels"):
        matched_names(NAMES, ("nose",), {"muzzle": "snout"})
    with pytest.raises(SynthmouseError, match="did you mean the reverse, --map nose=snout"):
        matched_names(NAMES, ("nose",), {"snout": "nose"})
    with pytest.raises(SynthmouseError, match="--map REAL=SYNTHETIC"):
        matched_names(NAMES, ("a", "b"))


def test_metrics_match_hand_computed_values():
    truth = np.array([[[0, 0], [10, 0], [20, 0], [100, 0]], [[0, 0], [10, 0], [np.nan, np.nan], [50, 0]]], float)
    pred = truth + np.array([[[3, 4], [0, 1], [0, 12], [6, 8]], [[0, 0], [0, 7], [1, 1], [0, 20]]], float)
    e = keypoint_errors(pred, truth)
    np.testing.assert_allclose(e, [[5, 1, 12, 10], [0, 7, np.nan, 20]])
    lengths = body_lengths(truth, NAMES)
    np.testing.assert_allclose(lengths, [100, 50])  # snout to tailbase
    m = summarize(e, lengths)
    errs = np.array([5, 1, 12, 10, 0, 7, 20.0])
    assert m["n"] == 7
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(errs**2)))
    assert m["mean_error"] == pytest.approx(55 / 7)
    assert m["median_error"] == pytest.approx(7.0)
    assert m["pck_5px"] == pytest.approx(3 / 7)  # 5, 1, 0
    assert m["pck_10px"] == pytest.approx(5 / 7)  # + 10, 7
    # relative: 5/100 1/100 12/100 10/100 | 0/50 7/50 20/50
    assert m["pck_0.1L"] == pytest.approx(4 / 7)
    assert m["pck_0.2L"] == pytest.approx(6 / 7)


def test_body_length_falls_back_to_farthest_pair_and_median():
    truth = np.array([[[0, 0], [3, 0], [30, 0]], [[0, 0], [3, 0], [np.nan, np.nan]]], float)
    np.testing.assert_allclose(body_lengths(truth, ("a", "b", "c")), [30, 30])


def _write_dlc(folder, names, coords, scorer="me"):
    folder.mkdir(parents=True)
    rows = []
    for i in range(len(coords)):
        cv2.imwrite(str(folder / f"img{i:03d}.png"), np.full((20, 30), 100 + i, np.uint8))
        rows.append(f"labeled-data/{folder.name}/img{i:03d}.png")
    cols = pd.MultiIndex.from_product([[scorer], names, ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    df = pd.DataFrame(coords.reshape(len(coords), -1), index=rows, columns=cols)
    df.to_hdf(folder / f"CollectedData_{scorer}.h5", key="df_with_missing", mode="w")
    return df


def test_read_labels_and_evaluate_with_mapping_and_nan(tmp_path):
    coords = np.array([[[1, 2], [np.nan, np.nan], [5, 6]], [[7, 8], [9, 10], [11, 12]]], float)
    _write_dlc(tmp_path / "proj" / "labeled-data" / "s1", ["nose", "earL", "tail_root"], coords)
    data = read_labels(tmp_path / "proj", check=True)
    assert data.names == ("nose", "earL", "tail_root") and len(data) == 2
    np.testing.assert_array_equal(data.xy, coords)
    assert data.images[1].name == "img001.png" and data.images[1].is_file()
    pred = np.array([[[1, 2], [0, 0], [5, 9]], [[7, 8], [9, 10], [14, 16]]], float)
    report = evaluate_predictions(
        pred,
        ("snout", "leftear", "tailbase"),
        data,
        {"nose": "snout", "earL": "leftear", "tail_root": "tailbase"},
        out=tmp_path / "eval",
        gallery=2,
    )
    assert report["overall"]["n"] == 5  # the NaN label is left out
    assert report["overall"]["mean_error"] == pytest.approx((0 + 3 + 0 + 0 + 5) / 5)
    assert report["per_keypoint"]["earL"]["n"] == 1
    assert (tmp_path / "eval" / "metrics.json").is_file() and (tmp_path / "eval" / "worst_frames.png").is_file()


def test_prediction_table_reads_back_like_deeplabcut(tmp_path):
    xy = np.arange(2 * 4 * 2, dtype=float).reshape(2, 4, 2)
    conf = np.array([[0.9, 0.8, 0.7, 0.6], [0.5, 0.4, 0.3, 0.2]])
    df = predictions_table(xy, conf, NAMES, "synthmouse_m", [0, 1])
    h5, csv = write_predictions(df, tmp_path / "video1synthmouse_m")
    back = pd.read_hdf(h5)
    assert list(back.columns.names) == ["scorer", "bodyparts", "coords"]
    assert back.columns.get_level_values(0).unique().tolist() == ["synthmouse_m"]
    assert back.columns.get_level_values(1).unique().tolist() == list(NAMES)
    assert back.columns.get_level_values(2).unique().tolist() == ["x", "y", "likelihood"]
    assert back["synthmouse_m"]["rightear"]["likelihood"].tolist() == [0.7, 0.3]
    assert back["synthmouse_m"]["tailbase"]["x"].tolist() == [6.0, 14.0]
    back_csv = pd.read_csv(csv, header=[0, 1, 2], index_col=0)
    np.testing.assert_allclose(back_csv.to_numpy(), back.to_numpy())


def test_labelled_set_reorder_fills_missing_with_nan():
    data = LabelledFrames(names=("a", "b"), xy=np.zeros((0, 2, 2)), keys=())
    assert data.reorder(("b", "c")).xy.shape == (0, 2, 2)
    data = LabelledFrames(names=("a", "b"), xy=np.array([[[1.0, 2.0], [3.0, 4.0]]]), keys=("x",), images=("x",))
    r = data.reorder(("b", "c"))
    np.testing.assert_array_equal(r.xy[0, 0], [3, 4])
    assert np.isnan(r.xy[0, 1]).all()


def test_video_frames_are_read_in_order(tmp_path):
    from synthmouse.pose.predict import frame_keys

    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for v in (20, 120, 220):
        writer.write(np.full((24, 32, 3), v, np.uint8))
    writer.release()
    keys, reader = frame_keys(path)
    frames = list(reader())
    assert keys == ["0", "1", "2"]
    assert [int(round(f.mean())) for f in frames] == pytest.approx([20, 120, 220], abs=3)


def test_imagenet_weights_only_from_the_local_cache(tmp_path, monkeypatch):
    import torch
    from torchvision.models import resnet18

    from synthmouse.pose.network import imagenet_weights_path, load_imagenet_weights

    # TORCH_HOME alone moves the hub cache; torch.hub.set_dir would pin it for the rest of the process.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    assert Path(torch.hub.get_dir()) == tmp_path / "hub"
    assert imagenet_weights_path() is None
    assert load_imagenet_weights(resnet18(weights=None)) is False  # nothing downloaded
    cached = resnet18(weights=None)
    file = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    file.parent.mkdir(parents=True)
    torch.save(cached.state_dict(), file)
    assert imagenet_weights_path() == file
    fresh = resnet18(weights=None)
    assert load_imagenet_weights(fresh) is True
    torch.testing.assert_close(fresh.conv1.weight, cached.conv1.weight)
