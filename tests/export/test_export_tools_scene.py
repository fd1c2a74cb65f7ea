"""A rendered scene (the built-in demo, small images) exported to COCO, NWB and Lightning Pose, checked with the
tools' own readers: pycocotools' keypoint COCOeval with the shipped sigmas, nwbinspector, and Lightning Pose's
documented flip pairing and multi-view order (it does not install here)."""

from __future__ import annotations

import contextlib
import io
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.scene_source import demo_source

pycocotools_coco = pytest.importorskip("pycocotools.coco")
cocoeval = pytest.importorskip("pycocotools.cocoeval")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, renderer) -> Path:
    root = tmp_path_factory.mktemp("tools") / "demo"
    formats = ("coco", "lp", "dlc") + (("nwb",) if _has("pynwb") and _has("ndx_pose") else ())
    report = generate(
        demo_source(seed=3, size=(160, 120), renderer=renderer),
        root,
        GenerateOptions(n_frames=3, formats=formats),
    )
    assert report.complete
    return root


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_cocoeval_runs_with_the_shipped_sigmas_on_rendered_frames(dataset):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = pycocotools_coco.COCO(str(dataset / "coco" / "annotations.json"))
    (cat,) = gt.loadCats(gt.getCatIds())
    assert len(cat["kpt_oks_sigmas"]) == len(cat["keypoints"]) == 22
    anns = gt.loadAnns(gt.getAnnIds())
    assert anns
    for a in anns:  # the box holds every labelled keypoint, read either way
        x, y, w, h = a["bbox"]
        kp = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)
        pts = kp[kp[:, 2] > 0, :2]
        for p in (pts, pts + 0.5):
            assert np.all((p[:, 0] >= x) & (p[:, 0] <= x + w) & (p[:, 1] >= y) & (p[:, 1] <= y + h))

    def evaluate(noise_px: float) -> float:
        rng = np.random.default_rng(0)
        dets = []
        for a in anns:
            kp = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)
            kp[:, :2] += rng.normal(0, noise_px, (len(kp), 2)) * (kp[:, 2:] > 0)
            dets.append({"image_id": a["image_id"], "category_id": 1, "keypoints": kp.ravel().tolist(), "score": 1})
        with contextlib.redirect_stdout(io.StringIO()):
            ev = cocoeval.COCOeval(gt, gt.loadRes(dets), "keypoints")
            ev.params.kpt_oks_sigmas = np.asarray(cat["kpt_oks_sigmas"])
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return float(ev.stats[0])

    assert evaluate(0.0) == pytest.approx(1.0)
    assert evaluate(4.0) < 1.0


def test_nwbinspector_reports_nothing_critical(dataset):
    nwbinspector = pytest.importorskip("nwbinspector")
    path = dataset / "nwb" / "dataset.nwb"
    if not path.is_file():
        pytest.skip("the nwb extra (pynwb, ndx-pose) is not installed")
    messages = [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path)) if m is not None]
    bad = [m for m in messages if m.importance.name in ("CRITICAL", "BEST_PRACTICE_VIOLATION")]
    assert bad == [], [m.message for m in bad]


def test_lightning_pose_files_follow_its_documented_rules(dataset):
    config = yaml.safe_load((dataset / "lp_config.yaml").read_text())["data"]
    with open(dataset / "calibration.toml", "rb") as fh:
        calib = tomllib.load(fh)
    assert config["view_names"] == [calib[k]["name"] for k in sorted(calib) if k != "metadata"]
    csvs = [pd.read_csv(dataset / f, header=[0, 1, 2], index_col=0) for f in config["csv_file"]]
    names = csvs[0].columns.get_level_values("bodyparts").unique().tolist()
    assert names == config["keypoint_names"] and len(names) == config["num_keypoints"]
    lefts = [n for n in names if n.endswith("_left")]
    assert lefts and all(n[: -len("_left")] + "_right" in names for n in lefts)
    assert all(("left" not in n and "right" not in n) for n in names if not n.endswith(("_left", "_right")))
    dlc = pd.read_hdf(dataset / "labeled-data" / f"synth_{config['view_names'][0]}" / "CollectedData_synthmouse.h5")
    lp, dl = csvs[0].to_numpy(), dlc.to_numpy()  # DeepLabCut may also label some occluded keypoints
    shown = ~np.isnan(lp)
    assert shown.any() and np.array_equal(lp[shown], dl[shown])
