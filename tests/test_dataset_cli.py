"""The dataset commands through the real entry point: errors, preview."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from test_dataset_fakes import make_dataset

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
    return subprocess.run([sys.executable, "-m", "synthmouse", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


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
    cap = cv2.VideoCapture(str(root / "preview" / "overlay_top.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()
    assert "contact sheet:" in done.stdout and "overlay video:" in done.stdout
