"""The public API (``import synthmouse as sm``) and the examples/ scripts that use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import synthmouse as sm
from fakes.dataset import tree_digest
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.scene_source import demo_source
from synthmouse.errors import SynthmouseError

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "generate_dataset.py"
FRAMES = 3
SIZE = (96, 72)
CAMERAS = ("side", "front")  # the demo scene's


def run_example(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=600, cwd=REPO, check=False
    )


def test_import_synthmouse_is_light_and_loads_the_api_on_first_use():
    code = (
        "import sys, synthmouse as sm\n"
        "heavy = {'synthmouse.api', 'synthmouse.dataset', 'torch', 'moderngl', 'pandas'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert callable(sm.generate) and 'synthmouse.api' in sys.modules\n"
        "assert 'moderngl' not in sys.modules and 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_load_scene_names_the_scene_after_its_file_and_refuses_a_negative_seed(tmp_path):
    path = tmp_path / "my_rig.yaml"
    path.write_text(json.dumps({**sm.demo_scene().spec.model_dump(mode="json", exclude_unset=True), "seed": 5}))
    scene = sm.load_scene(path)
    assert (scene.name, scene.seed) == ("my_rig", 5)
    with pytest.raises(SynthmouseError, match=r"--seed -1: must be a non-negative integer"):
        sm.generate(scene, out=tmp_path / "ds", frames=2, seed=-1)
    assert not (tmp_path / "ds").exists()


def test_example_script_makes_a_labelled_dataset_equal_to_the_library_loop(tmp_path, renderer):
    out = tmp_path / "example"
    done = run_example(str(out), str(FRAMES), "--size", f"{SIZE[0]}x{SIZE[1]}")
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["frames"], manifest["seed"], manifest["formats"]) == (FRAMES, 0, ["dlc", "coco"])
    assert manifest["scene"]["name"] == "demo"
    assert [c["name"] for c in manifest["cameras"]] == list(CAMERAS)
    assert {(c["width"], c["height"]) for c in manifest["cameras"]} == {SIZE}
    for camera in CAMERAS:
        labels = pd.read_csv(
            out / "labeled-data" / f"synth_{camera}" / "CollectedData_synthmouse.csv",
            header=[0, 1, 2],
            index_col=[0, 1, 2],
        )
        assert len(labels) == FRAMES and labels.notna().to_numpy().any()
        assert all((out / "/".join(row)).is_file() for row in labels.index)
    coco = json.loads((out / "coco" / "annotations.json").read_text())
    assert len(coco["images"]) == FRAMES * len(CAMERAS) and coco["annotations"]
    # the API renders what the library's generation loop renders from the same scene and seed
    reference = tmp_path / "reference"
    source = demo_source(seed=0, size=SIZE, renderer=renderer)
    generate(source, reference, GenerateOptions(n_frames=FRAMES, formats=("dlc", "coco")))
    ours, theirs = tree_digest(out), tree_digest(reference)
    same = set(ours) - {"config.yaml", "manifest.json"}  # these name the dataset's folder
    assert same and {k: ours[k] for k in same} == {k: theirs[k] for k in same}
    assert set(ours) == set(theirs)
