"""train / evaluate on the user's own project: automatic keypoint-name matching (mouse22 synthetic names against
DeepLabCut's snout/leftear/rightear/tailbase), one --map direction (REAL=SYNTHETIC) with a helpful error for the
reverse, the --steps warning, and evaluate keeping the frames a model was trained on apart."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from fakes.cli import one_line_error as _one_line_error
from fakes.pose import toy_frames
from synthmouse.errors import SynthmouseError
from synthmouse.io.labels import LabelledFrames
from synthmouse.pose.benchmark import BenchmarkOptions, results_table, smoke_test_note
from synthmouse.pose.sources import map_real_names
from synthmouse.pose.train import MIN_SAMPLES, Source, recommended_steps, steps_warning

DLC_NAMES = ("snout", "leftear", "rightear", "tailbase")  # the dlc-topview names of a real DeepLabCut project
MOUSE22 = ("nose", "left_ear_tip", "right_ear_tip", "tail_root")  # the same points in mouse22's names


def project(root, names, n=4, seed=0):
    """A tiny DeepLabCut project ``root/labeled-data/s1`` (80 x 64 px toy frames) with keypoint ``names``."""
    folder = root / "labeled-data" / "s1"
    data = toy_frames(folder, n=n, seed=seed)
    cols = pd.MultiIndex.from_product([["me"], list(names), ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    rows = [f"labeled-data/s1/{p.name}" for p in data.images]
    pd.DataFrame(data.xy.reshape(n, -1), index=rows, columns=cols).to_hdf(
        folder / "CollectedData_me.h5", key="df_with_missing", mode="w"
    )
    return root


TRAIN = ("--steps", "2", "--batch-size", "2", "--crop-size", "32", "--device", "cpu")


def cli(*args) -> tuple[int, str, str]:
    """``synthmouse ARGS`` through the real entry point (errors: one line, exit 2): ``(code, stdout, stderr)``."""
    import contextlib
    import io
    import sys
    from unittest import mock

    from synthmouse.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(sys, "argv", ["synthmouse", *map(str, args)]),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main.run()
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained on a 'synthetic' project with mouse22 names plus 2 of the 4 frames of a real project with
    DeepLabCut names, no --map (automatic matching); the CLI's (code, out, err)."""
    root = tmp_path_factory.mktemp("mapping")
    synth = project(root / "synth", MOUSE22, seed=1)
    real = project(root / "real", DLC_NAMES, seed=2)
    return root, cli("train", synth, "--out", root / "m", "--real-labels", real, "--n-real", "2", *TRAIN)


def test_train_matches_deeplabcut_names_to_mouse22_automatically(trained):
    root, (code, out, err) = trained
    assert code == 0, err
    assert (
        "real keypoints (REAL=SYNTHETIC): snout=nose, leftear=left_ear_tip, rightear=right_ear_tip, "
        "tailbase=tail_root" in out
    )
    record = json.loads((root / "m" / "training_frames.json").read_text())
    real = [s for s in record["sources"] if s["real"]]
    assert len(real) == 1 and real[0]["n_frames"] == 2 and len(real[0]["sha256"]) == 2
    assert real[0]["pairs"][0] == ["snout", "nose"]


def test_train_warns_when_steps_are_far_too_few(trained):
    _, (_, _, err) = trained
    need = MIN_SAMPLES // 2  # batch 2; the 4 + 2 frames need far fewer
    assert "warning: --steps 2 is far below what this training needs" in err
    assert f"recommended: --steps {need} or more" in err


def test_evaluate_matches_names_and_leaves_the_training_frames_out(trained, tmp_path):
    root, _ = trained
    code, out, err = cli("evaluate", root / "m", "--real", root / "real", "--out", tmp_path / "ev", "--device", "cpu")
    assert code == 0, err
    assert "keypoints (REAL=SYNTHETIC, labels = model): snout=nose, leftear=left_ear_tip" in out
    assert "Evaluated on 2 held-out frames of 4 labelled: the 2 frames used to train the model are left out" in out
    assert "The 2 training frames alone (not a held-out measure)" in out
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["n_frames"] == 2 and metrics["n_frames_labelled"] == 4 and metrics["overall"]["n"] == 8
    assert metrics["training_frames"]["n"] == 2 and not metrics["training_frames"]["included_in_main_numbers"]
    assert set(metrics["frames"]).isdisjoint(metrics["training_frames"]["frames"])
    assert metrics["mapping"] == dict(zip(DLC_NAMES, MOUSE22, strict=True))
    assert "held-out frames" in (tmp_path / "ev" / "metrics.md").read_text()

    code, out, err = cli(
        "evaluate",
        root / "m",
        "--real",
        root / "real",
        "--out",
        tmp_path / "ev_all",
        "--include-training-frames",
        "--device",
        "cpu",
    )
    assert code == 0, err
    assert "Evaluated on all 4 labelled frames, 2 of them used to train the model" in out
    assert json.loads((tmp_path / "ev_all" / "metrics.json").read_text())["n_frames"] == 4


def test_evaluate_finds_the_training_frames_in_a_moved_project(trained, tmp_path):
    root, _ = trained
    shutil.copytree(root / "real", tmp_path / "moved")
    code, out, err = cli(
        "evaluate", root / "m", "--real", tmp_path / "moved", "--out", tmp_path / "ev", "--device", "cpu"
    )
    assert code == 0, err
    assert "the 2 frames used to train the model are left out" in out  # found by their image bytes


def test_evaluate_on_the_training_frames_only_is_an_error(trained, tmp_path):
    root, _ = trained
    record = json.loads((root / "m" / "training_frames.json").read_text())
    real = next(s for s in record["sources"] if s["real"])
    keep = tmp_path / "only_trained"
    project(keep, DLC_NAMES, seed=2)  # the same frames (same seed), 4 of them; drop the 2 not trained on
    df = pd.read_hdf(keep / "labeled-data" / "s1" / "CollectedData_me.h5")
    trained_names = {p.split("/")[-1] for p in real["images"]}
    df = df[[k.split("/")[-1] in trained_names for k in df.index]]
    df.to_hdf(keep / "labeled-data" / "s1" / "CollectedData_me.h5", key="df_with_missing", mode="w")
    code, _, err = cli("evaluate", root / "m", "--real", keep, "--device", "cpu")
    assert code == 2
    _one_line_error(err, "all 2 labelled frames", "were used to train this model", "--include-training-frames")


def test_reversed_map_says_did_you_mean_the_reverse(trained, tmp_path):
    root, _ = trained
    code, _, err = cli("evaluate", root / "m", "--real", root / "real", "--map", "nose=snout", "--device", "cpu")
    assert code == 2
    _one_line_error(
        err,
        "--map nose=snout: nose is a keypoint of the model and snout one of the labels",
        "the form is REAL=SYNTHETIC",
        "did you mean the reverse, --map snout=nose?",
    )
    code, _, err = cli(
        "train",
        root / "synth",
        "--out",
        tmp_path / "m2",
        "--real-labels",
        root / "real",
        "--map",
        "nose=snout,tail_root=tailbase",
        *TRAIN,
    )
    assert code == 2
    _one_line_error(err, "did you mean the reverse, --map snout=nose --map tailbase=tail_root?")
    assert not (tmp_path / "m2").exists()


def test_an_explicit_map_overrides_the_automatic_match(tmp_path):
    real = LabelledFrames(
        names=DLC_NAMES, xy=np.arange(8.0).reshape(1, 4, 2), keys=("a.png",), images=(tmp_path / "a.png",)
    )
    mapped, pairs = map_real_names(real, "R", MOUSE22, "S", ["tailbase=nose"])
    assert ("tailbase", "nose") in pairs and ("snout", "nose") not in pairs and len(pairs) == 3
    np.testing.assert_array_equal(mapped.xy[0, list(mapped.names).index("nose")], [6.0, 7.0])
    with pytest.raises(SynthmouseError, match="no keypoint of the real labels R .* matches one of the synthetic set"):
        map_real_names(real, "R", ("a", "b"), "S", None)


def _fake(n: int, real: bool = False, weight: float = 1.0) -> Source:
    names = tuple(f"f{i}.png" for i in range(n))
    data = LabelledFrames(names=MOUSE22, xy=np.zeros((n, 4, 2)), keys=names, images=names)
    return Source(data, weight, real=real)


def test_steps_heuristic():
    # at least MIN_SAMPLES samples; at least one pass over every source at its share of the batches
    assert recommended_steps([_fake(100)], 8) == MIN_SAMPLES // 8
    assert recommended_steps([_fake(20000)], 8) == 2500
    assert recommended_steps([_fake(5000, weight=0.5), _fake(10, real=True, weight=0.5)], 8) == 1250
    # the README's everyday path (5000 frames, the default 1000 steps x 8) is fine; 100 steps is not
    assert steps_warning([_fake(5000)], 1000, 8) is None
    assert steps_warning([_fake(5000, weight=0.5), _fake(10, True, 0.5)], 1000, 8) is None
    message = steps_warning([_fake(5000)], 100, 8)
    assert message.startswith(
        "--steps 100 is far below what this training needs: 100 steps x batch 8 = 800 "
        "samples, 0.16 passes over the 5000 training frames"
    )
    assert "recommended: --steps 800 or more" in message
    assert steps_warning([_fake(20000)], 1000, 8) is not None  # 0.4 passes


def test_quick_benchmark_says_it_is_a_smoke_test():
    options = BenchmarkOptions().quick()
    assert options.smoke_test and not BenchmarkOptions().smoke_test
    note = smoke_test_note(options)
    assert note.startswith("SMOKE TEST (--quick: 60 synthetic frames, 2 folds, K = 5, 60 steps)")
    assert "not a result" in note
    metrics = {c: 1.0 for c in ("rmse", "mean_error", "median_error", "pck_5px", "pck_10px", "pck_0.1L", "pck_0.2L")}
    result = {
        "real_train_frames_per_fold": [3, 3],
        "smoke_test": True,
        "note": note,
        "conditions": {"real only (k-fold)": metrics, "synthetic only": metrics, "synthetic + 5 real": metrics},
    }
    table = results_table(result)
    assert table.splitlines()[0] == f"**{note}**" and table.splitlines()[-1].endswith("not a result.**")
    result["smoke_test"] = False
    assert "SMOKE" not in results_table(result)


@pytest.mark.parametrize("command", ["train", "evaluate", "benchmark-sim2real", "report"])
def test_every_map_help_says_real_equals_synthetic(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    code, out, _ = cli(command, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "--map" in text and "REAL=SYNTHETIC: a name in your labels = the synthetic (model) name" in text
