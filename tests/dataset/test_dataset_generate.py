"""The generation loop: reproducible, resumable after SIGKILL, shardable, and safe on bad input."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import synthmouse.dataset.generation as gen
from fakes.dataset import FakeSource, image_path, make_dataset, tree_digest
from synthmouse.dataset.exporters import resolve_formats
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.errors import OutputError, SynthmouseError
from synthmouse.fileio import atomic_open

FAKES = Path(__file__).resolve().parents[1] / "fakes" / "dataset.py"
LABEL_FILES = (
    "labeled-data/synth_top/CollectedData_synthmouse.csv",
    "coco/annotations.json",
    "keypoints3d.csv",
    "frames.csv",
    "splits.json",
)


def _temporary_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if ".tmp" in p.name]


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    root = tmp_path / "ds"
    first = tree_digest(make_dataset(root, frames=8, seed=3), skip_state=False)
    shutil.rmtree(root)
    second = tree_digest(make_dataset(root, frames=8, seed=3), skip_state=False)
    assert first == second
    other = tree_digest(make_dataset(tmp_path / "other", frames=8, seed=4))
    for name in LABEL_FILES:
        assert other[name] != first[name], name
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["frames"] == 8
    assert manifest["files"] == {
        k: v for k, v in first.items() if not k.startswith(".synthmouse/") and k != "manifest.json"
    }


def test_output_location_only_changes_files_that_record_it(tmp_path):
    a = tree_digest(make_dataset(tmp_path / "a", frames=5, seed=1))
    b = tree_digest(make_dataset(tmp_path / "b", frames=5, seed=1))
    differ = {k for k in a if a[k] != b[k]}
    # DeepLabCut's project_path, SLEAP's image paths and Lightning Pose's data_dir are absolute (as those tools
    # want them); the manifest lists their digests. Everything else (images, every other label file) is
    # location-independent.
    assert differ == {
        "config.yaml",
        "manifest.json",
        "sleap/labels.slp",
        "sleap/test.slp",
        "sleap/train.slp",
        "sleap/val.slp",
        "lp_config.yaml",
    }


def test_sigkill_then_rerun_gives_the_files_of_an_uninterrupted_run(tmp_path):
    root = tmp_path / "ds"
    frames = 40
    reference = tree_digest(make_dataset(root, frames=frames, seed=9, formats=("dlc", "coco")), skip_state=False)
    shutil.rmtree(root)
    cmd = [sys.executable, str(FAKES), str(root), str(frames), "9"]
    proc = subprocess.Popen([*cmd, "0.05"], cwd=FAKES.parent)
    rows = root / ".synthmouse" / "rows"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len([p for p in rows.glob("*.json") if not p.name.startswith(".")]) < 8:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len([p for p in rows.glob("*.json") if not p.name.startswith(".")])  # not the temporary of a row
    assert 8 <= done < frames and not (root / "manifest.json").exists()
    for png in root.rglob("img*.png"):  # whatever is under a final name is complete
        assert cv2.imread(str(png)) is not None, png
    subprocess.run([*cmd, "0"], cwd=FAKES.parent, check=True)
    assert tree_digest(root, skip_state=False) == reference
    assert not _temporary_files(root)


def test_shards_in_separate_runs_merge_into_the_same_dataset(tmp_path):
    reference = tree_digest(make_dataset(tmp_path / "whole", frames=9, seed=2))
    root = tmp_path / "sharded"
    formats = resolve_formats(["dlc,sleap", "coco", "lp"])
    runs = [
        GenerateOptions(n_frames=9, formats=formats, shard=(1, 3)),
        GenerateOptions(n_frames=9, formats=formats, frames=(0, 3)),
        GenerateOptions(n_frames=9, formats=formats, shard=(2, 3)),
    ]
    reports = [generate(FakeSource(seed=2), root, options) for options in runs]
    assert [r.complete for r in reports] == [False, False, True]
    assert [r.rendered for r in reports] == [3, 3, 3]
    got = tree_digest(root)
    same = [
        k
        for k in reference
        if not k.startswith("sleap/") and k not in ("config.yaml", "manifest.json", "lp_config.yaml")
    ]
    assert {k: got[k] for k in same} == {k: reference[k] for k in same}


def test_rerunning_a_finished_dataset_renders_nothing_and_changes_nothing(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=4, seed=1)
    before = tree_digest(root, skip_state=False)
    report = generate(FakeSource(seed=1), root, GenerateOptions(n_frames=4, formats=("dlc", "sleap", "coco", "lp")))
    assert report.rendered == 0 and report.complete
    assert tree_digest(root, skip_state=False) == before


# ------------------------------------------------------------------------------------------------ bad input
def test_unknown_format_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(SynthmouseError, match=r"unknown export format 'dlcc'; allowed: dlc, sleap, coco, lp"):
        resolve_formats(["dlc", "dlcc"])


def test_output_folder_of_another_dataset_is_refused_untouched(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=3, seed=1)
    before = tree_digest(root, skip_state=False)
    with pytest.raises(OutputError, match=r"another dataset \(seed: 1 in the folder, 2 now"):
        generate(FakeSource(seed=2), root, GenerateOptions(n_frames=3, formats=("dlc",)))
    with pytest.raises(OutputError, match=r"scene_hash"):
        generate(FakeSource(seed=1, scene_hash="0" * 64), root, GenerateOptions(n_frames=3))
    with pytest.raises(OutputError, match=r"n_frames: 3 in the folder, 5 now"):
        generate(FakeSource(seed=1), root, GenerateOptions(n_frames=5))
    assert tree_digest(root, skip_state=False) == before


def test_the_sources_seed_is_the_datasets_only_seed(tmp_path):
    """The seed lives in the frame source alone: state, manifest and splits.json record it, and a negative
    seed is refused before anything is written."""
    root = make_dataset(tmp_path / "ds", frames=8, seed=6, formats=("dlc",))
    state = json.loads((root / ".synthmouse" / "state.json").read_text())
    manifest = json.loads((root / "manifest.json").read_text())
    splits = json.loads((root / "splits.json").read_text())
    assert (state["identity"]["seed"], manifest["seed"], splits["seed"]) == (6, 6, 6)
    with pytest.raises(SynthmouseError, match=r"--seed -1: must be a non-negative integer"):
        generate(FakeSource(seed=-1), tmp_path / "negative", GenerateOptions(n_frames=2))
    assert not (tmp_path / "negative").exists()


def test_non_empty_foreign_folder_and_file_paths_are_refused(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"not empty and holds no synthmouse dataset \(notes.txt\)"):
        generate(FakeSource(), foreign, GenerateOptions(n_frames=2))
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        generate(FakeSource(), a_file, GenerateOptions(n_frames=2))
    with pytest.raises(OutputError, match="not writable|cannot create"):
        generate(FakeSource(), a_file / "sub", GenerateOptions(n_frames=2))
    assert a_file.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            generate(FakeSource(), locked, GenerateOptions(n_frames=2))
    finally:
        locked.chmod(0o700)


def _disk_full_after(calls: int, monkeypatch):
    """Make the ``calls``-th image write fail with ENOSPC halfway through writing its temporary file."""
    real = gen.write_image
    count = {"n": 0}

    def write(path, data):
        count["n"] += 1
        if count["n"] >= calls:
            with atomic_open(path, "wb") as fh:
                fh.write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(gen, "write_image", write)


def test_disk_full_on_the_first_frame_leaves_nothing(tmp_path, monkeypatch):
    _disk_full_after(1, monkeypatch)
    root = tmp_path / "ds"
    with pytest.raises(OutputError, match="disk full"):
        generate(FakeSource(), root, GenerateOptions(n_frames=4, formats=("dlc",)))
    assert not root.exists()


def test_disk_full_midway_keeps_only_complete_frames_and_resumes(tmp_path, monkeypatch):
    reference = tree_digest(make_dataset(tmp_path / "ref", frames=6, seed=0, formats=("dlc",)))
    root = tmp_path / "ds"
    _disk_full_after(6, monkeypatch)  # two cameras: frames 0, 1 complete, frame 2's top image fails
    with pytest.raises(OutputError, match="disk full; finished frames are kept"):
        generate(FakeSource(), root, GenerateOptions(n_frames=6, formats=("dlc",)))
    assert not _temporary_files(root)
    images = sorted(p.relative_to(root).as_posix() for p in root.rglob("img*.png"))
    assert images == [f"labeled-data/synth_{c}/img0000{i}.png" for c in ("side", "top") for i in (0, 1)]
    rows = sorted(p.name for p in (root / ".synthmouse" / "rows").iterdir())
    assert rows == ["00000000.json", "00000001.json"]
    monkeypatch.undo()
    report = generate(FakeSource(), root, GenerateOptions(n_frames=6, formats=("dlc",)))
    assert report.rendered == 4 and report.complete
    got = tree_digest(root)
    assert {k: v for k, v in got.items() if k not in ("config.yaml", "manifest.json")} == {
        k: v for k, v in reference.items() if k not in ("config.yaml", "manifest.json")
    }


def test_disk_full_while_exporting_leaves_no_partial_label_file(tmp_path, monkeypatch):
    import synthmouse.export.coco as coco

    def full(self, dataset):
        with atomic_open(dataset.root / "coco" / "annotations.json", "w") as fh:
            fh.write('{"images": [')
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(coco.CocoExporter, "export", full)
    root = tmp_path / "ds"
    with pytest.raises(OutputError, match="disk full"):
        generate(FakeSource(), root, GenerateOptions(n_frames=3, formats=("dlc", "coco")))
    assert not (root / "coco" / "annotations.json").exists() and not _temporary_files(root)
    assert not (root / "manifest.json").exists()
    monkeypatch.undo()
    assert generate(FakeSource(), root, GenerateOptions(n_frames=3, formats=("dlc", "coco"))).complete
    assert json.loads((root / "coco" / "annotations.json").read_text())["images"]


def test_bad_options_are_rejected_with_the_allowed_values():
    with pytest.raises(SynthmouseError, match="need at least 1 frame"):
        GenerateOptions(n_frames=0)
    with pytest.raises(SynthmouseError, match=r"--shard 3/3: need 0 <= k < n"):
        GenerateOptions(n_frames=5, shard=(3, 3))
    with pytest.raises(SynthmouseError, match=r"--frames-range 4:9: need 0 <= a < b <= 5"):
        GenerateOptions(n_frames=5, frames=(4, 9))
    with pytest.raises(SynthmouseError, match="image format 'tif'"):
        GenerateOptions(n_frames=5, image_format="tif")
    with pytest.raises(SynthmouseError, match="JPEG quality 0"):
        GenerateOptions(n_frames=5, image_format="jpg", jpeg_quality=0)
    with pytest.raises(SynthmouseError, match="either --shard or --frames-range"):
        GenerateOptions(n_frames=5, shard=(0, 2), frames=(0, 2))
    assert list(GenerateOptions(n_frames=10, shard=(2, 3)).selected_frames()) == [6, 7, 8, 9]


def test_jpeg_images_are_written_with_their_quality(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=2, seed=0, formats=("dlc",), image_format="jpg", jpeg_quality=80)
    image = image_path(root, "top", 0, "jpg")
    assert image.read_bytes()[:2] == b"\xff\xd8"
    rendered = FakeSource().render(0).views[0].rgb
    expect = cv2.imdecode(cv2.imencode(".jpg", rendered[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])[1], 1)
    assert (cv2.imread(str(image)) == expect).all()


def test_files_get_the_permissions_of_ordinarily_created_files(tmp_path):
    """Datasets are shared: files must not keep the 0600 mode of their temporary names."""
    root = make_dataset(tmp_path / "ds", frames=2, seed=0, formats=("dlc", "coco"))
    probe = tmp_path / "probe.txt"
    probe.write_text("x")
    expected = probe.stat().st_mode & 0o777
    for rel in (
        "labeled-data/synth_top/img00000.png",
        "coco/annotations.json",
        "manifest.json",
        "labeled-data/synth_top/CollectedData_synthmouse.csv",
        ".synthmouse/rows/00000000.json",
    ):
        assert (root / rel).stat().st_mode & 0o777 == expected, rel


# ------------------------------------------------------------------------------------- ground-truth images
def test_depth_png_values_are_rounded_millimetres_with_zero_for_no_hit():
    from synthmouse.dataset.images import depth_to_millimetres, encode_png_channel

    depth = np.array([[np.inf, np.nan, 0.0, 0.0004], [0.3, 1.23449, 1.2346, 80.0]], np.float32)
    mm = depth_to_millimetres(depth)
    assert mm.dtype == np.uint16
    assert mm.tolist() == [[0, 0, 0, 1], [300, 1234, 1235, 65535]]  # hits never read 0; clipped at 65535
    back = cv2.imdecode(np.frombuffer(encode_png_channel(mm), np.uint8), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and (back == mm).all()


def test_ground_truth_images_are_listed_in_rows_and_manifest_and_resume_after_disk_full(tmp_path, monkeypatch):
    kinds = ("depth", "mask", "parts")
    reference = make_dataset(tmp_path / "ref", frames=5, seed=0, formats=("dlc",), label_images=kinds)
    ref_digest = tree_digest(reference)
    manifest = json.loads((reference / "manifest.json").read_text())
    assert set(manifest["ground_truth"]) == set(kinds) and manifest["ground_truth"]["depth"]["unit"] == "mm"
    for i in range(5):
        row = json.loads((reference / ".synthmouse" / "rows" / f"{i:08d}.json").read_text())
        for view in row["views"]:
            rendered = next(v for v in FakeSource().render(i).views if v.camera == view["camera"])
            files = view["files"]
            assert sorted(files) == sorted(kinds)
            for kind, entry in files.items():
                assert entry["path"] == f"{kind}/{view['camera']}/img{i:05d}.png"
                assert manifest["files"][entry["path"]] == entry["sha256"] == ref_digest[entry["path"]]
            depth = cv2.imread(str(reference / files["depth"]["path"]), cv2.IMREAD_UNCHANGED)
            hit = np.isfinite(rendered.depth)
            assert depth.dtype == np.uint16 and (depth[~hit] == 0).all()
            assert np.abs(depth[hit] / 1000.0 - rendered.depth[hit]).max() <= 0.0005 + 1e-6
            mask = cv2.imread(str(reference / files["mask"]["path"]), cv2.IMREAD_UNCHANGED)
            assert (mask == np.where(rendered.mask, 255, 0)).all()
            parts = cv2.imread(str(reference / files["parts"]["path"]), cv2.IMREAD_UNCHANGED)
            assert parts.dtype == np.uint8 and (parts == rendered.parts).all()
    from synthmouse.body.groups import PARTS

    legend = json.loads((reference / "parts" / "legend.json").read_text())
    assert [(p["id"], p["name"]) for p in legend["parts"]] == list(enumerate(PARTS))
    assert manifest["files"]["parts/legend.json"] == ref_digest["parts/legend.json"]
    # a full disk while writing frame 1's top mask: frame 1's images already written are removed; rerun resumes
    root = tmp_path / "ds"
    _disk_full_after(11, monkeypatch)  # per frame and camera: image, depth, mask, parts
    with pytest.raises(OutputError, match="disk full"):
        generate(FakeSource(label_images=kinds), root, GenerateOptions(n_frames=5, formats=("dlc",)))
    assert not _temporary_files(root)
    kept = sorted(p.relative_to(root).as_posix() for p in root.rglob("img*.png"))
    assert kept == sorted(
        [f"{d}/{c}/img00000.png" for d in kinds for c in ("top", "side")]
        + [f"labeled-data/synth_{c}/img00000.png" for c in ("side", "top")]
    )
    monkeypatch.undo()
    assert generate(FakeSource(label_images=kinds), root, GenerateOptions(n_frames=5, formats=("dlc",))).complete
    got = tree_digest(root)
    assert {k: v for k, v in got.items() if k not in ("config.yaml", "manifest.json")} == {
        k: v for k, v in ref_digest.items() if k not in ("config.yaml", "manifest.json")
    }


def test_without_ground_truth_images_none_are_written(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=2, seed=0, formats=("dlc",))
    assert not any((root / d).exists() for d in ("depth", "mask", "parts"))
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["ground_truth"] == {} and not any(k.startswith(("depth/", "parts/")) for k in manifest["files"])
    row = json.loads((root / ".synthmouse" / "rows" / "00000000.json").read_text())
    assert all(view["files"] == {} for view in row["views"])
