"""The dataset commands through the real entry point: errors, demo, preview, kill and resume."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from fakes.dataset import make_dataset, tree_digest

TINY_SCENE = """\
rig: {type: wheel}
cameras:
  - name: side
    width: 64
    height: 48
    fov_deg: 40
    look_at: {eye: [0.02, -0.3, 0.045], target: [0.0, 0.0, 0.018]}
"""


def synthmouse(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "synthmouse", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_broken_scene_file_gives_a_clear_error_and_writes_nothing(tmp_path):
    scene = tmp_path / "broken.yaml"
    scene.write_text("rig:\n  type: wheel\ncameras:\n  - name: top\n    fov_deg: 400\n")
    out = tmp_path / "out"
    done = synthmouse("generate", str(scene), "--frames", "3", "--out", str(out))
    assert done.returncode == 2
    assert "broken.yaml" in done.stderr and "fov_deg" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
    scene.write_text("rig: [unclosed\n")
    done = synthmouse("generate", str(scene), "--frames", "3", "--out", str(out))
    assert done.returncode == 2 and "line" in done.stderr and "not valid YAML" in done.stderr
    assert not out.exists()


def test_unknown_format_and_foreign_folder_are_refused_before_rendering(tmp_path):
    scene = tmp_path / "scene.yaml"
    scene.write_text(TINY_SCENE)
    out = tmp_path / "out"
    done = synthmouse("generate", str(scene), "--frames", "3", "--out", str(out), "-f", "dlc,deeplabcut")
    assert done.returncode == 2 and "unknown export format 'deeplabcut'" in done.stderr
    assert not out.exists()
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    done = synthmouse("generate", str(scene), "--frames", "3", "--out", str(out))
    assert done.returncode == 2 and "not empty" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["thesis.docx"]


def test_preview_writes_contact_sheet_and_overlay_video(tmp_path):
    pytest.importorskip("av")
    root = make_dataset(tmp_path / "ds", frames=6, seed=1, formats=("dlc",))
    done = synthmouse("preview", str(root), "--tiles", "4")
    assert done.returncode == 0, done.stderr
    sheet = cv2.imread(str(root / "preview" / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] > 100 and sheet.shape[1] > 400  # 4 tiles, two cameras each
    cameras = [c["name"] for c in json.loads((root / "manifest.json").read_text())["cameras"]]
    assert len(cameras) == 2
    for name in cameras:  # one overlay video per camera, every frame
        cap = cv2.VideoCapture(str(root / "preview" / f"overlay_{name}.mp4"))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
        cap.release()
    assert "contact sheet:" in done.stdout and done.stdout.count("overlay video:") == 2
    one = synthmouse("preview", str(root), "--no-video", "--camera", cameras[0])
    assert one.returncode == 0 and "overlay video" not in one.stdout
    wrong = synthmouse("preview", str(root), "--camera", "nope")
    assert wrong.returncode == 2 and "no camera 'nope'" in wrong.stderr and cameras[0] in wrong.stderr


def test_demo_makes_a_labelled_dataset_and_says_what_to_open(tmp_path):
    out = tmp_path / "demo"
    done = synthmouse("demo", "--out", str(out), "--frames", "6", "--format", "dlc,coco")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["frames"] == 6 and manifest["formats"] == ["dlc", "coco"]
    assert [c["name"] for c in manifest["cameras"]] == ["side", "front"]
    assert (out / "preview" / "contact_sheet.png").is_file()
    assert f"open {out / 'preview' / 'contact_sheet.png'}" in done.stdout
    frames = pd.read_csv(out / "frames.csv")
    assert frames["motion"].str.len().gt(0).all() and frames["segment"].notna().all()
    csv = out / "labeled-data" / "synth_side" / "CollectedData_synthmouse.csv"
    labels = pd.read_csv(csv, header=[0, 1, 2], index_col=[0, 1, 2])
    assert np.isfinite(labels.to_numpy()).mean() > 0.3  # most keypoints of the side view are visible


@pytest.mark.slow
def test_demo_200_frames_under_two_minutes(tmp_path):
    start = time.perf_counter()
    done = synthmouse("demo", "--out", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - start < 120
    assert json.loads((tmp_path / "demo" / "manifest.json").read_text())["frames"] == 200


@pytest.mark.slow
def test_generate_command_killed_and_rerun_equals_uninterrupted(tmp_path):
    scene = tmp_path / "scene.yaml"
    scene.write_text(TINY_SCENE)
    out = tmp_path / "out"
    args = ["generate", str(scene), "--frames", "60", "--seed", "3", "--out", str(out), "-f", "dlc,coco"]
    assert synthmouse(*args).returncode == 0
    reference = tree_digest(out, skip_state=False)
    shutil.rmtree(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthmouse", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    rows = out / ".synthmouse" / "rows"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len([p for p in rows.glob("*.json") if not p.name.startswith(".")]) < 10:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    assert synthmouse(*args).returncode == 0
    assert tree_digest(out, skip_state=False) == reference
