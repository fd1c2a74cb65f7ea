"""Dataset integrity: ``synthmouse verify`` (files against the manifest, labels against the images), the quick
check of a ``generate`` rerun, ``--repair``, and the dataset format version."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from fakes.dataset import FakeSource, image_path, make_dataset, tree_digest
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.state import DATASET_FORMAT_VERSION
from synthmouse.dataset.verify import quick_check, repair, verify_dataset
from synthmouse.errors import DatasetDamagedError, OutputError

KINDS = ("depth", "mask")
FORMATS = ("dlc", "coco")


def _dataset(tmp_path, name="ds"):
    return make_dataset(tmp_path / name, frames=6, seed=1, formats=FORMATS, label_images=KINDS)


def _generate(root):
    return generate(FakeSource(seed=1, label_images=KINDS), root, GenerateOptions(n_frames=6, formats=FORMATS))


def _verify_cli(monkeypatch, capsys, *args) -> tuple[int, str]:
    from synthmouse.cli import main

    with pytest.raises(SystemExit) as stop:
        main.run(["verify", *map(str, args)])
    captured = capsys.readouterr()
    return stop.value.code, captured.out + captured.err


def test_an_intact_dataset_verifies_and_the_manifest_records_format_and_sizes(tmp_path, monkeypatch, capsys):
    root = _dataset(tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["format_version"] == DATASET_FORMAT_VERSION
    assert manifest["sizes"] == {rel: (root / rel).stat().st_size for rel in manifest["files"]}
    state = json.loads((root / ".synthmouse" / "state.json").read_text())
    assert state["identity"]["format_version"] == DATASET_FORMAT_VERSION
    report = verify_dataset(root)
    assert report.ok and report.checked == len(manifest["files"]) and not report.extra and not report.notes
    (root / "preview").mkdir()
    (root / "preview" / "contact_sheet.png").write_bytes(b"not part of the dataset")
    code, out = _verify_cli(monkeypatch, capsys, root)
    assert code == 0 and out.strip().endswith("the labels fit the images)"), out


def test_missing_changed_and_extra_files_are_listed(tmp_path, monkeypatch, capsys):
    root = _dataset(tmp_path)
    image_path(root, "top", 2).unlink()
    mask = root / "mask" / "side" / "img00003.png"
    mask.write_bytes(mask.read_bytes()[:-8])
    csv = root / "labeled-data" / "synth_top" / "CollectedData_synthmouse.csv"
    csv.write_text(csv.read_text().replace("1", "2", 1))  # same size, other content
    (root / "notes.txt").write_text("mine")
    report = verify_dataset(root)
    assert report.missing == ["labeled-data/synth_top/img00002.png"]
    assert sorted(report.changed) == sorted(["mask/side/img00003.png", csv.relative_to(root).as_posix()])
    assert report.extra == ["notes.txt"] and report.damaged_frames == {2, 3} and not report.ok
    code, out = _verify_cli(monkeypatch, capsys, root)
    assert code == 1
    assert "missing: labeled-data/synth_top/img00002.png" in out and "changed: mask/side/img00003.png" in out
    assert "extra (not in the manifest, left alone): notes.txt" in out and "damaged: 1 file missing" in out
    quick = quick_check(root)  # existence and sizes only: the same-size edit goes unnoticed
    assert quick.missing == report.missing and quick.changed == ["mask/side/img00003.png"]


def test_labels_are_checked_against_the_image_sizes(tmp_path):
    root = _dataset(tmp_path)
    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # an image of another size whose digest the manifest agrees with: only its header tells
    wrong = image_path(root, "side", 1)
    ok, data = cv2.imencode(".png", np.zeros((40, 47, 3), np.uint8))
    wrong.write_bytes(data.tobytes())
    rel = wrong.relative_to(root).as_posix()
    import hashlib

    manifest["files"][rel] = hashlib.sha256(data.tobytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    # a label row whose visible keypoint lies outside the image
    row_path = root / ".synthmouse" / "rows" / "00000004.json"
    row = json.loads(row_path.read_text())
    view = row["views"][0]
    k = view["visible"].index(1)
    view["xy"][k] = [view["width"] + 3.0, 5.0]
    row_path.write_text(json.dumps(row))
    report = verify_dataset(root)
    assert not report.missing and not report.changed and report.damaged_frames == {1, 4}
    assert any(f"{rel}: the image is 47 x 40 pixels, its labels say 48 x 40" in p for p in report.labels)
    assert any("frame 4, camera top: keypoint" in p and "outside 48 x 40" in p for p in report.labels)


def test_a_rerun_of_generate_reports_damage_instead_of_complete_and_repair_remakes_it(tmp_path, monkeypatch, capsys):
    root = _dataset(tmp_path)
    reference = tree_digest(root, skip_state=False)
    image_path(root, "side", 0).unlink()
    (root / "depth" / "top" / "img00005.png").write_bytes(b"\x89PNG truncated")
    (root / "coco" / "annotations.json").write_text("{}")
    before = tree_digest(root, skip_state=False)
    with pytest.raises(
        DatasetDamagedError,
        match=r"the finished dataset is damaged: 1 file missing "
        r"\(labeled-data/synth_side/img00000.png\); 2 files changed size",
    ):
        _generate(root)
    assert tree_digest(root, skip_state=False) == before  # nothing written over the damage
    code, out = _verify_cli(monkeypatch, capsys, root, "--repair")
    assert code == 1 and "repair: removed 3 files and the label rows of 2 frames (0, 5)" in out
    assert not (root / "manifest.json").exists()
    report = _generate(root)
    assert report.complete and report.rendered == 2
    assert tree_digest(root, skip_state=False) == reference
    assert verify_dataset(root).ok


def test_verify_refuses_what_it_cannot_check(tmp_path, monkeypatch, capsys):
    code, out = _verify_cli(monkeypatch, capsys, tmp_path)
    assert code == 2 and "not a synthmouse dataset (no manifest.json)" in out
    root = tmp_path / "partial"
    generate(FakeSource(seed=1), root, GenerateOptions(n_frames=6, formats=FORMATS, frames=(0, 2)))
    code, out = _verify_cli(monkeypatch, capsys, root)
    assert code == 2 and "not finished (2 of 6 frames generated)" in out and len(out.strip().splitlines()) == 1
    root = _dataset(tmp_path)
    shutil.rmtree(root / ".synthmouse")
    report = verify_dataset(root)
    assert report.ok and report.notes and "labels not checked" in report.notes[0]
    with pytest.raises(OutputError, match="cannot repair without its run state"):
        repair(report)


def test_a_folder_of_another_dataset_format_is_not_resumed(tmp_path):
    root = tmp_path / "old"
    generate(FakeSource(seed=1), root, GenerateOptions(n_frames=6, formats=FORMATS, frames=(0, 2)))
    state_file = root / ".synthmouse" / "state.json"
    state = json.loads(state_file.read_text())
    del state["identity"]["format_version"]  # as synthmouse 0.1 wrote it
    state_file.write_text(json.dumps(state))
    before = tree_digest(root, skip_state=False)
    with pytest.raises(
        OutputError,
        match=rf"a dataset of format version 1 \(synthmouse .*\); this synthmouse "
        rf"writes format {DATASET_FORMAT_VERSION}, whose files differ",
    ):
        generate(FakeSource(seed=1), root, GenerateOptions(n_frames=6, formats=FORMATS))
    assert tree_digest(root, skip_state=False) == before
