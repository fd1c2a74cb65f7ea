"""DeepLabCut export: read back exactly as DeepLabCut 3 reads its labels, compared with a real DLC project, and
accepted by DeepLabCut itself.

DeepLabCut is not a dependency (it needs PyTorch and pandas < 3). The acceptance tests at the end run where a
DeepLabCut 3 environment exists: ``$DLC_PYTHON``, default ``~/.cache/dlcenv/bin/python`` (made by
``../shared/tools/dlc-env.sh``, about 5 minutes). They take minutes, so they are marked ``slow``; run them with

    bash ../shared/tools/dlc-env.sh                                   # once
    .venv/bin/python -m pytest tests/export/test_export_dlc.py -q -m slow    # create_training_dataset, dlc_check.py,
                                                                      # dlc_check.py --train (one epoch)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fakes.dataset import EDGES, NAMES, FakeSource, dlc_h5, image_path, make_dataset

SEED, FRAMES = 5, 10
DLC_PYTHON = Path(os.environ.get("DLC_PYTHON", Path.home() / ".cache" / "dlcenv" / "bin" / "python"))


class EdgeSource(FakeSource):
    """Fake frames with every DeepLabCut labelling case: ``tail_root`` is occluded in every view but listed in
    ``label_hidden``; ``right_ear`` is never visible (not listed); ``nose`` lies half a pixel left of the image
    or above it; ``tail_end`` lies just inside or just outside the right edge of the pixel area."""

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        extra = dict(self.meta.extra, label_hidden=["tail_root"])
        self.meta = dataclasses.replace(self.meta, extra=extra)

    def _view(self, cam, rng, index):
        view = super()._view(cam, rng, index)
        w, h = cam.width, cam.height
        kp, visible = view.keypoints.copy(), view.visible.copy()
        visible[NAMES.index("right_ear")] = False
        visible[NAMES.index("tail_root")] = False
        nose, tail_end = NAMES.index("nose"), NAMES.index("tail_end")
        if index % 4 == 1:
            kp[nose, 0], visible[nose] = -0.3, True  # in the pixel area, left of DLC's box: clipped to 0
            kp[tail_end], visible[tail_end] = (w - 0.6, h / 2), True  # inside both: kept as it is
        elif index % 4 == 2:
            kp[nose, 1], visible[nose] = -0.7, True  # outside the pixel area: NaN
        elif index % 4 == 3:
            kp[tail_end], visible[tail_end] = (w - 0.4, h / 2), True  # in DLC's box, not in the pixel area: NaN
        return dataclasses.replace(view, keypoints=kp, visible=visible)


def make_edge_dataset(root: Path, frames: int = 12, seed: int = 2) -> Path:
    from synthmouse.dataset.generation import GenerateOptions, generate

    report = generate(EdgeSource(seed=seed), root, GenerateOptions(n_frames=frames, formats=("dlc",)))
    assert report.complete
    return Path(root)


def expected_dlc_row(view, hidden: set[str]) -> np.ndarray:
    """``(K, 2)`` what DeepLabCut should get for one rendered view, from the rules of docs/dataset.md."""
    h, w = view.rgb.shape[:2]
    kp = np.asarray(view.keypoints, dtype=np.float64)
    in_pixels = (kp[:, 0] >= -0.5) & (kp[:, 0] < w - 0.5) & (kp[:, 1] >= -0.5) & (kp[:, 1] < h - 0.5)
    labelled = in_pixels & (view.visible | np.isin(view.names, list(hidden)))
    return np.where(labelled[:, None], np.maximum(kp, 0.0), np.nan)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("dlc") / "ds", frames=FRAMES, seed=SEED, formats=("dlc",))


def guarantee_multiindex_rows(df: pd.DataFrame) -> None:
    """DeepLabCut 3's ``conversioncode.guarantee_multiindex_rows`` (legacy path strings to path
    components)."""
    if not isinstance(df.index, pd.MultiIndex):
        path = df.index[0]
        sep = "/" if "/" in path else "\\"
        df.index = pd.MultiIndex.from_tuples(tuple(df.index.str.split(sep)))


def test_dlc_h5_matches_real_deeplabcut_layout(dataset, openfield_dir):
    real_path = openfield_dir / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5"
    real = pd.read_hdf(real_path, "df_with_missing")
    guarantee_multiindex_rows(real)
    ours = pd.read_hdf(dlc_h5(dataset, "top"), "df_with_missing")
    assert isinstance(ours.index, pd.MultiIndex) and ours.index.nlevels == real.index.nlevels == 3
    assert list(ours.columns.names) == list(real.columns.names) == ["scorer", "bodyparts", "coords"]
    assert set(ours.dtypes) == set(real.dtypes) == {np.dtype("float64")}
    assert list(ours.columns.get_level_values("coords").unique()) == ["x", "y"]
    first_level = real.index.get_level_values(0).unique().tolist()
    assert ours.index.get_level_values(0).unique().tolist() == first_level == ["labeled-data"]
    assert ours.index.get_level_values(1).unique().tolist() == ["synth_top"]  # the folder holding the file
    assert ours.columns.get_level_values("bodyparts").unique().tolist() == list(NAMES)


def test_dlc_values_equal_rendered_keypoints_nan_where_not_visible(dataset):
    source = FakeSource(seed=SEED)
    for cam_index, cam in enumerate(("top", "side")):
        df = pd.read_hdf(dlc_h5(dataset, cam), "df_with_missing")
        assert len(df) == FRAMES
        for i in range(FRAMES):
            view = source.render(i).views[cam_index]
            row = df.loc[("labeled-data", f"synth_{cam}", f"img{i:05d}.png")].to_numpy().reshape(-1, 2)
            np.testing.assert_array_equal(row, expected_dlc_row(view, hidden=set()))
            assert image_path(dataset, cam, i).is_file()
    assert np.isnan(df.to_numpy()).any() and not np.isnan(df.to_numpy()).all()


@pytest.fixture(scope="module")
def edge_dataset(tmp_path_factory) -> Path:
    return make_edge_dataset(tmp_path_factory.mktemp("dlc_edge") / "ds")


def test_dlc_labels_hidden_keypoints_the_set_lists_and_clips_to_the_image_box(edge_dataset):
    """label_hidden keypoints are labelled when occluded; half-pixel overhangs are clipped onto DeepLabCut's
    box ``0 <= x < w``; points outside the pixel area are NaN; never-labelled body parts leave the project."""
    source = EdgeSource(seed=2)
    kept = [n for n in NAMES if n != "right_ear"]
    cfg = yaml.safe_load((edge_dataset / "config.yaml").read_text())
    assert cfg["bodyparts"] == kept
    assert cfg["skeleton"] == [list(e) for e in EDGES if "right_ear" not in e]
    clipped = outside = hidden = 0
    for cam_index, cam in enumerate(("top", "side")):
        df = pd.read_hdf(dlc_h5(edge_dataset, cam))  # as DLC reads it: no key
        assert df.columns.get_level_values("bodyparts").unique().tolist() == kept
        values = df.to_numpy().reshape(len(df), -1, 2)
        finite = ~np.isnan(values)
        assert (values[..., 0][finite[..., 0]] >= 0).all() and (values[..., 0][finite[..., 0]] < 48).all()
        assert (values[..., 1][finite[..., 1]] >= 0).all() and (values[..., 1][finite[..., 1]] < 40).all()
        for i in range(12):
            view = source.render(i).views[cam_index]
            expect = expected_dlc_row(view, hidden={"tail_root"})[[NAMES.index(n) for n in kept]]
            np.testing.assert_array_equal(values[i], expect)
            clipped += int(i % 4 == 1 and values[i, 0, 0] == 0.0)
            outside += int(i % 4 == 2 and np.isnan(values[i, 0]).all())
            hidden += int(not np.isnan(values[i, kept.index("tail_root")]).any())
        assert not np.isnan(df.xs("tail_root", axis=1, level="bodyparts").to_numpy()).all()
    assert clipped == 6 and outside == 6 and hidden == 24


def test_dlc_training_fraction_has_two_decimals_and_matches_the_split(edge_dataset, dataset):
    """DeepLabCut's SplitTrials builds nothing for a fraction with more than two decimals; a passed split's
    fraction is ``round(train / (train + test), 2)``, which the config must list for DLC to find the shuffle."""
    for root in (edge_dataset, dataset):
        cfg = yaml.safe_load((root / "config.yaml").read_text())
        splits = json.loads((root / "splits.json").read_text())["deeplabcut"]
        (fraction,) = cfg["TrainingFraction"]
        assert abs(fraction - round(fraction, 2)) == 0 and 0 < fraction < 1
        n_train, n_test = len(splits["trainIndices"]), len(splits["testIndices"])
        assert fraction == round(n_train / (n_train + n_test), 2)


def test_dlc_csv_reads_back_like_napari_deeplabcut(dataset):
    folder = dataset / "labeled-data" / "synth_side"
    h5 = pd.read_hdf(folder / "CollectedData_synthmouse.h5", "df_with_missing")
    lines = (folder / "CollectedData_synthmouse.csv").read_text().splitlines()
    assert [ln.split(",")[0] for ln in lines[:3]] == ["scorer", "bodyparts", "coords"]
    assert lines[3].split(",")[0] == "labeled-data"  # DLC's rule for index_col=[0, 1, 2]
    csv = pd.read_csv(folder / "CollectedData_synthmouse.csv", header=[0, 1, 2], index_col=[0, 1, 2])
    assert csv.index.tolist() == h5.index.tolist()
    assert csv.columns.tolist() == h5.columns.tolist()
    np.testing.assert_array_equal(csv.to_numpy(), h5.to_numpy())


def test_dlc_config_has_deeplabcut_keys_and_consistent_project(dataset, openfield_dir):
    ours = yaml.safe_load((dataset / "config.yaml").read_text())
    real = yaml.safe_load((openfield_dir / "config.yaml").read_text())
    assert set(real) - {"SuperAnimalConversionTables"} <= set(ours)
    assert ours["scorer"] == "synthmouse" and ours["multianimalproject"] is False
    assert Path(ours["project_path"]) == dataset.absolute()
    assert ours["bodyparts"] == list(NAMES)
    assert all(a in NAMES and b in NAMES for a, b in ours["skeleton"])
    assert 0 < ours["TrainingFraction"][0] < 1
    stems = sorted(Path(v).stem for v in ours["video_sets"])
    assert stems == ["synth_side", "synth_top"]
    for video, settings in ours["video_sets"].items():
        assert settings["crop"] == "0, 48, 0, 40"
        assert (dataset / "labeled-data" / Path(video).stem / "CollectedData_synthmouse.h5").is_file()


def test_dlc_merge_like_create_training_dataset_and_split_indices(dataset):
    """Reproduce ``merge_annotateddatasets`` (DLC 3) and check splits.json's trainIndices/testIndices rows."""
    cfg = yaml.safe_load((dataset / "config.yaml").read_text())
    frames = []
    for video in cfg["video_sets"]:
        folder = Path(cfg["project_path"]) / "labeled-data" / Path(video).stem
        path = folder / f"CollectedData_{cfg['scorer']}.h5"
        data = pd.read_hdf(path)
        guarantee_multiindex_rows(data)
        assert data.columns.levels[0][0] == cfg["scorer"]
        frames.append(data)
    merged = pd.concat(frames).sort_index()
    merged = merged.reindex(cfg["bodyparts"], axis=1, level=merged.columns.names.index("bodyparts"))
    assert merged.shape == (2 * FRAMES, 2 * len(NAMES))
    splits = json.loads((dataset / "splits.json").read_text())
    for key, split in (("trainIndices", "train"), ("testIndices", "test"), ("valIndices", "val")):
        rows = merged.index[splits["deeplabcut"][key]]
        got = sorted({int(name[3:8]) for _, _, name in rows})
        assert got == sorted(splits["frames"][split])
    assert len(splits["deeplabcut"]["trainIndices"]) == 2 * len(splits["frames"]["train"])


def test_dlc_h5_bytes_reproducible(tmp_path):
    """PyTables stamps HDF5 nodes with the time in seconds unless told not to: rewrite a second later."""
    a = make_dataset(tmp_path / "same", frames=4, seed=2, formats=("dlc",))
    first = dlc_h5(a, "top").read_bytes()
    shutil.rmtree(a)
    time.sleep(1.1)
    make_dataset(tmp_path / "same", frames=4, seed=2, formats=("dlc",))
    assert dlc_h5(a, "top").read_bytes() == first


# --- DeepLabCut itself ------------------------------------------------------------------------------------------
def dlc_python() -> Path:
    if not DLC_PYTHON.is_file():
        pytest.skip(
            f"no DeepLabCut environment at {DLC_PYTHON} (make one with ../shared/tools/dlc-env.sh or set DLC_PYTHON)"
        )
    probe = subprocess.run(
        [str(DLC_PYTHON), "-c", "import deeplabcut"], capture_output=True, text=True, env=_dlc_env(), timeout=600
    )
    if probe.returncode != 0:
        pytest.skip(f"{DLC_PYTHON} cannot import deeplabcut: {probe.stderr.strip().splitlines()[-1:]}")
    return DLC_PYTHON


def _dlc_env() -> dict[str, str]:
    return dict(os.environ, DLClight="True", MPLBACKEND="Agg", HF_HUB_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3")


def run_dlc_check(shared_dir: Path, project: Path, *flags: str) -> None:
    script = shared_dir / "tools" / "dlc_check.py"
    if not script.is_file():
        pytest.skip(f"{script} not found")
    python = dlc_python()
    done = subprocess.run(
        [str(python), str(script), *flags, str(project)], capture_output=True, text=True, env=_dlc_env(), timeout=3600
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "FAIL" not in report and "ALL PASS" in report, report


CREATE_AS_WRITTEN = """
import json, sys
from pathlib import Path
import deeplabcut
from deeplabcut.pose_estimation_pytorch.data import DLCLoader
config = sys.argv[1]
deeplabcut.create_training_dataset(config)  # the config as written: no shuffle, fraction or indices passed
splits = json.loads((Path(config).parent / "splits.json").read_text())["deeplabcut"]
deeplabcut.create_training_dataset(config, Shuffles=[2], trainIndices=[splits["trainIndices"]],
                                   testIndices=[splits["testIndices"]], userfeedback=False)
out = {}
for shuffle in (1, 2):
    split = DLCLoader(config=config, shuffle=shuffle, trainset_index=0).split
    out[shuffle] = {"train": sorted(split["train"]), "test": sorted(split["test"])}
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow  # DeepLabCut's own code in its venv: 2-6 min on 2 cores
def test_deeplabcut_creates_a_training_set_from_the_config_as_written(tmp_path):
    """``deeplabcut.create_training_dataset(config)`` on the export in place (no indices), then with
    splits.json's indices: DeepLabCut's loader finds both shuffles under the config's TrainingFraction."""
    python = dlc_python()
    project = make_edge_dataset(tmp_path / "edge")
    done = subprocess.run(
        [str(python), "-c", CREATE_AS_WRITTEN, str(project / "config.yaml")],
        capture_output=True,
        text=True,
        env=_dlc_env(),
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    splits = json.loads((project / "splits.json").read_text())["deeplabcut"]
    n_rows = 2 * 12
    first = result["1"]
    assert len(first["train"]) == int(
        n_rows * yaml.safe_load((project / "config.yaml").read_text())["TrainingFraction"][0]
    )
    assert sorted(first["train"] + first["test"]) == list(range(n_rows))
    assert result["2"] == {"train": sorted(splits["trainIndices"]), "test": sorted(splits["testIndices"])}
    merged = pd.read_hdf(next((project / "training-datasets").rglob("CollectedData_*.h5")))
    assert len(merged) == n_rows
    for bodypart in merged.columns.get_level_values("bodyparts").unique():
        assert not merged.xs(bodypart, axis=1, level="bodyparts").isna().all().all(), bodypart


@pytest.mark.slow  # DeepLabCut's own code in its venv: 2-6 min on 2 cores
def test_dlc_check_accepts_the_export(shared_dir, tmp_path):
    """``../shared/tools/dlc_check.py``: DeepLabCut's config reader, layout checks, create_training_dataset and
    PyTorch loader on the export (exit 0 only when every check passes)."""
    run_dlc_check(shared_dir, make_edge_dataset(tmp_path / "edge"))


@pytest.mark.slow
def test_dlc_check_trains_one_epoch_on_the_export(shared_dir, tmp_path):
    run_dlc_check(shared_dir, make_edge_dataset(tmp_path / "edge"), "--train")
