"""The SAM loader against the raw MAMMAL text files, read here independently with numpy and json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from synthmouse.body.sam import SAM_FILES, load_sam
from synthmouse.body.tongue import TONGUE_VERTICES
from synthmouse.errors import ModelFormatError

# The documented transform: x' = -y, y' = x, z' = z, then a scale making nose-to-tail_root `length` metres.
RAW_TO_BODY = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def _raw_mapper_points(sam_dir: Path, length: float) -> tuple[list[str], np.ndarray]:
    vertices = np.loadtxt(sam_dir / "vertices.txt")
    joints = np.loadtxt(sam_dir / "t_pose_joints.txt")
    names = (sam_dir / "keypoint22_names.txt").read_text().split()
    mapper = json.loads((sam_dir / "keypoint22_mapper.json").read_text())["mapper"][:22]
    raw = np.array([(vertices if e["type"] == "V" else joints)[e["ids"]].mean(axis=0) for e in mapper])
    scale = length / np.linalg.norm(raw[names.index("nose")] - raw[names.index("tail_root")])
    origin = joints[0]  # the root joint becomes the body frame's origin
    return names, (raw - origin) @ RAW_TO_BODY.T * scale


def test_sam_loads_with_expected_sizes(sam_body):
    assert sam_body.mesh.n_vertices == 14522 + TONGUE_VERTICES  # the published mesh plus our tongue
    assert len(sam_body.mesh.faces) == 28800 + 2 * TONGUE_VERTICES - 4  # (a closed genus-0 tongue: F = 2V - 4)
    assert sam_body.skeleton.n_joints == 141  # the published 140 plus the tongue_pivot
    assert sam_body.mesh.uvs.shape == (15399, 2)
    assert sam_body.mesh.face_uvs.shape == (28800 + 2 * TONGUE_VERTICES - 4, 3)
    sums = np.asarray(sam_body.mesh.weights.sum(axis=1)).ravel()
    np.testing.assert_allclose(sums, 1.0, atol=1e-9)


def test_mouse22_keypoints_at_rest_match_the_mapper(sam_dir, sam_body):
    names, expected = _raw_mapper_points(sam_dir, 0.095)
    kset = sam_body.keypoint_set("mouse22")
    assert list(kset.names) == names
    got = sam_body.keypoints(sam_body.rest_pose(), kset)[0]
    assert np.abs(got - expected).max() < 1e-4  # 0.1 mm


def test_body_axes_follow_the_convention(sam_body):
    kps = dict(
        zip(
            sam_body.keypoint_set("mouse22").names,
            sam_body.keypoints(sam_body.rest_pose(), "mouse22")[0],
            strict=True,
        )
    )
    assert kps["nose"][0] > kps["tail_root"][0] > kps["tail_end"][0]  # nose towards +x
    assert kps["left_ear_tip"][1] > 0 > kps["right_ear_tip"][1]  # the animal's left towards +y
    assert kps["neck"][2] > kps["left_paw"][2]  # z up
    assert sam_body.mesh.vertices[:, 2].min() > -1e-3  # standing on the floor


def test_length_is_nose_to_tail_root_and_configurable(sam_dir, sam_body):
    assert sam_body.length == pytest.approx(0.095, abs=1e-7)
    small = load_sam(sam_dir, length=0.08)
    assert small.length == pytest.approx(0.08, abs=1e-7)
    np.testing.assert_allclose(small.mesh.vertices, sam_body.mesh.vertices * (0.08 / 0.095), atol=1e-7)
    names, expected = _raw_mapper_points(sam_dir, 0.08)
    got = small.keypoints(small.rest_pose(), "mouse22")[0]
    assert np.abs(got - expected).max() < 1e-4


# --- malformed copies of the SAM folder ---------------------------------------------------------------------
def _broken_copy(sam_dir: Path, tmp_path: Path, filename: str, line: int, edit) -> Path:
    """Copy the SAM files to ``tmp_path``; replace 1-based ``line`` of ``filename`` by ``edit(old_line)``."""
    folder = tmp_path / "sam"
    folder.mkdir()
    for name in SAM_FILES:
        shutil.copyfile(sam_dir / name, folder / name)
    lines = (folder / filename).read_text().splitlines()
    lines[line - 1] = edit(lines[line - 1])
    (folder / filename).write_text("\n".join(lines) + "\n")
    return folder


def _bump_weight(row: str) -> str:
    joint, vertex, weight = row.split()
    return f"{joint} {vertex} {float(weight) + 0.5:.8f}"


@pytest.mark.parametrize(
    ("filename", "line", "edit", "needle"),
    [
        ("vertices.txt", 5, lambda row: row + " 0.1", "expected 3 columns, found 4"),
        ("faces_vert.txt", 10, lambda row: "0 1 99999", "vertex index 99999 is outside 0..14521"),
        ("parents.txt", 6, lambda row: "6", "cycle"),  # hind_paw_l <- hind_paw_digit_1a_l <- hind_paw_l
        ("skinning_weights.txt", 1, _bump_weight, "sum to"),
        ("t_pose_joints.txt", 3, lambda row: "0.1 nan 0.2", "not finite"),
    ],
    ids=["column-count", "face-index", "cyclic-parents", "weight-sum", "nan"],
)
def test_malformed_sam_files_name_file_and_line(sam_dir, tmp_path, filename, line, edit, needle):
    folder = _broken_copy(sam_dir, tmp_path, filename, line, edit)
    with pytest.raises(ModelFormatError) as info:
        load_sam(folder)
    err = info.value
    assert err.path == folder / filename
    assert err.line == line
    assert needle in str(err) and f"{filename}, line {line}" in str(err)


def test_missing_sam_file_is_named(sam_dir, tmp_path):
    folder = _broken_copy(sam_dir, tmp_path, "parents.txt", 1, lambda row: row)
    (folder / "skinning_weights.txt").unlink()
    with pytest.raises(ModelFormatError, match="skinning_weights.txt: file not found"):
        load_sam(folder)
