"""One validation of a real labelled set (synthmouse.io.label_checks), shared by report, train and evaluate:
every bad input is one line naming the file and row, and the CLI exits 2 without a traceback."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import SHARED
from fakes.cli import one_line_error as _one_line_error
from fakes.pose import NAMES, toy_frames
from synthmouse.io.label_checks import LabelError, check_names, validate_label_rows
from synthmouse.io.labels import read_labels as read_any
from synthmouse.metrics.frames import load_frame_set, validate_label_tables


def read_labels(path):
    """Labels read and checked as train, evaluate and benchmark-sim2real read them."""
    return read_any(path, check=True)


REACHING_DIR = SHARED / "real" / "reaching"


def dlc_project(root, n: int = 4, fmt: str = "h5", coords: np.ndarray | None = None, seed: int = 0):
    """A tiny DeepLabCut project ``root/labeled-data/s1`` (``toy_frames``: 80 x 64 px) with one label file."""
    folder = root / "labeled-data" / "s1"
    data = toy_frames(folder, n=n, seed=seed)
    xy = data.xy if coords is None else coords
    cols = pd.MultiIndex.from_product([["me"], list(NAMES), ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    df = pd.DataFrame(
        np.asarray(xy, float).reshape(n, -1), index=[f"labeled-data/s1/{p.name}" for p in data.images], columns=cols
    )
    if fmt == "h5":
        df.to_hdf(folder / "CollectedData_me.h5", key="df_with_missing", mode="w")
    else:
        df.to_csv(folder / "CollectedData_me.csv")
    return root, data


def _both_readers(root):
    """Run the pose reader and the metrics validation on ``root``; both must raise the same LabelError."""
    messages = []
    for read in (read_labels, validate_label_tables):
        with pytest.raises(LabelError) as info:
            read(root)
        messages.append(str(info.value))
    return messages


# ------------------------------------------------------------------------------------------------- the checks
def test_a_valid_project_passes_both_readers_with_image_sizes(tmp_path):
    root, data = dlc_project(tmp_path / "p", fmt="csv")
    labels = read_labels(root)
    np.testing.assert_allclose(labels.xy, data.xy)
    assert labels.sizes.tolist() == [[80, 64]] * 4
    validate_label_tables(root)
    assert load_frame_set(root, "real").keypoints.shape == (4, 4, 2)


@pytest.mark.parametrize("fmt, where", [("csv", "line 6"), ("h5", "row 3")])
@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e308])
def test_infinite_or_huge_values_name_file_row_and_column(tmp_path, fmt, where, value):
    coords = toy_frames(tmp_path / "ref").xy
    coords[2, 1, 0] = value
    root, _ = dlc_project(tmp_path / "p", fmt=fmt, coords=coords)
    for message in _both_readers(root):
        assert f"CollectedData_me.{fmt}, {where} (labeled-data/s1/img002.png): leftear x = " in message
        assert "not a pixel coordinate" in message and "allowed: a finite number" in message


def test_all_nan_labels_are_an_error_naming_the_file(tmp_path):
    root, _ = dlc_project(tmp_path / "p", coords=np.full((4, 4, 2), np.nan))
    for message in _both_readers(root):
        assert message.startswith(f"no labelled keypoints in {root / 'labeled-data/s1/CollectedData_me.h5'}")


def test_x_without_y_is_an_error(tmp_path):
    coords = toy_frames(tmp_path / "ref").xy
    coords[1, 3, 1] = np.nan
    root, _ = dlc_project(tmp_path / "p", coords=coords)
    for message in _both_readers(root):
        assert "row 2 (labeled-data/s1/img001.png): tailbase has x = " in message and "but no y" in message


def test_missing_images_are_counted_and_named(tmp_path):
    root, data = dlc_project(tmp_path / "p", n=4, fmt="csv")
    data.images[1].unlink()
    data.images[3].unlink()
    for message in _both_readers(root):
        assert "CollectedData_me.csv: 2 of 4 labelled images not found" in message
        assert "img001.png (line 5), img003.png (line 7)" in message


def test_a_corrupt_png_is_named(tmp_path):
    root, data = dlc_project(tmp_path / "p")
    raw = data.images[2].read_bytes()
    data.images[2].write_bytes(raw[: len(raw) // 2])  # truncated
    for message in _both_readers(root):
        assert message.startswith(f"{data.images[2]}: cannot decode this image")
        assert "CollectedData_me.h5, row 3 (labeled-data/s1/img002.png)" in message


def test_images_of_another_size_than_the_labels(tmp_path):
    root, data = dlc_project(tmp_path / "p", n=4, fmt="csv")
    for path in data.images:  # the labels were made on 80 x 64 images; these are 40 x 32
        cv2.imwrite(str(path), cv2.resize(cv2.imread(str(path)), (40, 32)))
    for message in _both_readers(root):
        assert "is outside its image" in message and "(40 x 32 px; allowed" in message
        assert "were the labels made on images of another size?" in message
        assert message.count("\n") == 0


def test_labels_on_the_border_pass():
    coords = np.array([[[-0.5, -0.5], [79.5, 63.5], [81.0, 65.0], [np.nan, np.nan]]])  # margin: 2 px
    sizes = validate_label_rows("f.csv", ["a.png"], NAMES, coords)
    assert sizes is None


def test_map_names_must_exist():
    check_names(["snout"], NAMES, "the real labels X")
    with pytest.raises(
        LabelError,
        match=r"--map: muzzle, tail are not keypoint columns of the real labels X; "
        r"its columns are snout, leftear, rightear, tailbase",
    ):
        check_names(["muzzle", "snout", "tail"], NAMES, "the real labels X")


def test_the_openfield_project_passes(openfield_dir):
    labels = read_labels(openfield_dir)
    assert labels.sizes.tolist() == [[640, 480]] * 116 and np.isfinite(labels.xy).all()
    validate_label_tables(openfield_dir)


def test_reaching_passes():
    if not (REACHING_DIR / "labeled-data").is_dir():
        pytest.skip(f"reaching project not found at {REACHING_DIR}")
    labels = read_labels(REACHING_DIR)
    assert labels.sizes[0].tolist() == [832, 747] and len(labels) == 55
    validate_label_tables(REACHING_DIR)


# ------------------------------------------------------------------------------------------------- the CLI
def run_cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """Run ``synthmouse ARGS`` through the real entry point: ``(exit code, stdout, stderr)``."""
    from synthmouse.cli import main

    registered = {c.name for c in main.app.registered_commands}
    for module, command in (("report", "report"), ("pose", "train")):
        if command not in registered:
            __import__(f"synthmouse.cli.{module}", fromlist=["register"]).register(main.app)
    monkeypatch.setattr(sys, "argv", ["synthmouse", *map(str, args)])
    capsys.readouterr()
    try:
        main.run()
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A pose model trained for a few steps on a tiny project (the keypoints of ``toy_frames``)."""
    from synthmouse.pose.train import Source, TrainOptions, default_config, train_pose_model

    root = tmp_path_factory.mktemp("model_proj")
    dlc_project(root)
    sources = [Source(read_labels(root))]
    config = default_config(sources, crop_size=32, width=4, locator_width=4, locator_size=64, pretrained=False)
    out = root / "model"
    train_pose_model(
        sources, out, config, TrainOptions(steps=2, locator_steps=1, batch_size=2, threads=1, device="cpu")
    )
    return out


def test_cli_evaluate_all_nan_labels_exits_2(tmp_path, tiny_model, monkeypatch, capsys):
    root, _ = dlc_project(tmp_path / "p", coords=np.full((4, 4, 2), np.nan))
    code, _, err = run_cli(monkeypatch, capsys, "evaluate", tiny_model, "--real", root, "--device", "cpu")
    assert code == 2
    _one_line_error(err, "no labelled keypoints in", "CollectedData_me.h5")


def test_cli_evaluate_infinite_label_exits_2(tmp_path, tiny_model, monkeypatch, capsys):
    coords = toy_frames(tmp_path / "ref").xy
    coords[0, 0, 1] = np.inf
    root, _ = dlc_project(tmp_path / "p", fmt="csv", coords=coords)
    code, _, err = run_cli(monkeypatch, capsys, "evaluate", tiny_model, "--real", root, "--device", "cpu")
    assert code == 2
    _one_line_error(err, "CollectedData_me.csv, line 4 (labeled-data/s1/img000.png): snout y = inf")


def test_cli_evaluate_labels_of_another_image_size_exits_2(tmp_path, tiny_model, monkeypatch, capsys):
    root, _ = dlc_project(tmp_path / "p", coords=toy_frames(tmp_path / "ref").xy * 4)
    code, _, err = run_cli(monkeypatch, capsys, "evaluate", tiny_model, "--real", root, "--device", "cpu")
    assert code == 2
    _one_line_error(err, "outside its image", "another size")


def test_cli_evaluate_valid_project(tmp_path, tiny_model, monkeypatch, capsys):
    root, _ = dlc_project(tmp_path / "p", seed=3)
    code, out, err = run_cli(
        monkeypatch, capsys, "evaluate", tiny_model, "--real", root, "--out", tmp_path / "ev", "--device", "cpu"
    )
    assert code == 0, err
    assert "rmse" in out and (tmp_path / "ev" / "metrics.json").is_file()


def test_cli_train_unknown_map_column_exits_2(tmp_path, monkeypatch, capsys):
    synth, _ = dlc_project(tmp_path / "synth", seed=1)
    real, _ = dlc_project(tmp_path / "real", seed=2)
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "train",
        synth,
        "--out",
        tmp_path / "m",
        "--real-labels",
        real,
        "--map",
        "snout=nose",
        "--steps",
        "2",
        "--device",
        "cpu",
    )
    assert code == 2  # --map is REAL=SYNTHETIC: the synthetic set has no "nose"
    _one_line_error(
        err,
        "--map snout=nose: nose is not a keypoint of the synthetic set",
        "its keypoints are snout, leftear, rightear, tailbase",
    )
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "train",
        synth,
        "--out",
        tmp_path / "m",
        "--real-labels",
        real,
        "--map",
        "muzzle=snout",
        "--steps",
        "2",
        "--device",
        "cpu",
    )
    assert code == 2
    _one_line_error(err, "--map muzzle=snout: muzzle is not a keypoint of the real labels")
    assert not (tmp_path / "m").exists()


def test_cli_train_corrupt_png_exits_2_before_training(tmp_path, monkeypatch, capsys):
    synth, _ = dlc_project(tmp_path / "synth", seed=1)
    real, data = dlc_project(tmp_path / "real", seed=2)
    data.images[0].write_bytes(b"not a png")
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "train",
        synth,
        "--out",
        tmp_path / "m",
        "--real-labels",
        real,
        "--steps",
        "2",
        "--device",
        "cpu",
    )
    assert code == 2
    _one_line_error(err, f"{data.images[0]}: cannot decode this image", "row 1 (labeled-data/s1/img000.png)")
    assert "training on" not in out and not (tmp_path / "m").exists()


def _report_args(synthetic, real, out):
    return (
        "report",
        "--synthetic",
        synthetic,
        "--real",
        real,
        "--out",
        out,
        "--no-fid",
        "--epochs",
        "1",
        "--classifier-width",
        "32",
        "--max-frames",
        "8",
    )


def test_cli_report_missing_images_exits_2(tmp_path, monkeypatch, capsys):
    synth, _ = dlc_project(tmp_path / "synth", seed=1)
    real, data = dlc_project(tmp_path / "real", n=5, seed=2)
    for path in data.images[1:4]:
        path.unlink()
    code, _, err = run_cli(monkeypatch, capsys, *_report_args(synth, real, tmp_path / "r.html"))
    assert code == 2
    _one_line_error(err, "CollectedData_me.h5: 3 of 5 labelled images not found", "img001.png (row 2)")
    assert not (tmp_path / "r.html").exists()


def test_cli_report_images_of_another_size_than_the_labels_exits_2(tmp_path, monkeypatch, capsys):
    synth, _ = dlc_project(tmp_path / "synth", seed=1)
    real, data = dlc_project(tmp_path / "real", seed=2)
    for path in data.images:
        cv2.imwrite(str(path), cv2.resize(cv2.imread(str(path)), (40, 32)))
    code, _, err = run_cli(monkeypatch, capsys, *_report_args(synth, real, tmp_path / "r.html"))
    assert code == 2
    _one_line_error(err, "is outside its image", "(40 x 32 px", "another size")


def test_cli_report_on_tiny_valid_projects(tmp_path, monkeypatch, capsys):
    synth, _ = dlc_project(tmp_path / "synth", n=6, seed=1)
    real, _ = dlc_project(tmp_path / "real", n=6, seed=2)
    code, out, err = run_cli(monkeypatch, capsys, *_report_args(synth, real, tmp_path / "r.html"), "--no-download")
    assert code == 0, err
    assert (tmp_path / "r.html").is_file() and (tmp_path / "r.json").is_file() and "wrote " in out


def test_evaluation_without_any_label_of_the_model_keypoints_is_an_error(tmp_path):
    from synthmouse.errors import SynthmouseError
    from synthmouse.pose.evaluate import evaluate_predictions

    coords = toy_frames(tmp_path / "ref").xy
    coords[:, :2] = np.nan  # snout and leftear never labelled
    root, _ = dlc_project(tmp_path / "p", coords=coords)
    labels = read_labels(root)
    pred = np.zeros((4, 2, 2))
    with pytest.raises(
        SynthmouseError,
        match=r"no labelled keypoints to evaluate: .*\(snout, leftear\) are all "
        r"empty in 4 frames",
    ):
        evaluate_predictions(pred, ("snout", "leftear"), labels)


def test_dlc3_csv_with_three_index_columns_and_text_values(tmp_path):
    root, data = dlc_project(tmp_path / "p", fmt="csv")
    csv = root / "labeled-data" / "s1" / "CollectedData_me.csv"
    df = pd.read_csv(csv, header=[0, 1, 2], index_col=0)
    df.index = pd.MultiIndex.from_tuples([tuple(k.split("/")) for k in df.index])
    df.to_csv(csv)  # DeepLabCut 3 layout: labeled-data, session, image as three index columns
    labels = read_labels(root)
    assert labels.keys[1] == "labeled-data/s1/img001.png"
    np.testing.assert_allclose(labels.xy, data.xy)
    text = csv.read_text().splitlines()
    text[5] = text[5].replace(text[5].split(",")[4], "oops", 1)
    csv.write_text("\n".join(text) + "\n")
    for read in (read_labels, validate_label_tables):
        with pytest.raises(
            Exception,
            match=r"CollectedData_me.csv, line 6 \(labeled-data/s1/img002.png\): "
            r"snout y = 'oops' is not a number",
        ):
            read(root)


def test_one_reader_takes_single_and_multi_animal_tables_in_csv_and_h5(tmp_path):
    """``read_label_table`` (``synthmouse.io.labels``; ``scene new --like``) keeps the first individual of a
    multi-animal table, checked against the values pandas wrote; rows are keyed by the joined image path."""
    import pandas as pd

    from synthmouse.io.labels import read_label_table

    index = pd.MultiIndex.from_tuples([("labeled-data", "s", f"img{i}.png") for i in range(3)])
    values = np.arange(3 * 8, dtype=float).reshape(3, 8)
    multi = pd.DataFrame(
        values,
        index=index,
        columns=pd.MultiIndex.from_product(
            [["me"], ["mouse1", "mouse2"], ["nose", "tail"], ["x", "y"]],
            names=["scorer", "individuals", "bodyparts", "coords"],
        ),
    )
    single = multi.xs("mouse1", axis=1, level="individuals")
    for name, frame in (("multi", multi), ("single", single)):
        csv, h5 = tmp_path / f"{name}.csv", tmp_path / f"{name}.h5"
        frame.to_csv(csv)
        frame.to_hdf(h5, key="df_with_missing")
        for file in (csv, h5):
            table = read_label_table(file)
            assert table.columns.nlevels == 3 and list(table.index) == list(index.map("/".join))
            assert np.array_equal(table.to_numpy(), values[:, :4]), file
    (tmp_path / "bad.csv").write_text("not,a\nlabel,table\n")
    with pytest.raises(LabelError, match="bad.csv"):
        read_label_table(tmp_path / "bad.csv")
