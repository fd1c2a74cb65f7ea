"""Loader for the SAM mouse (Bolaños et al. 2021) in the plain-text export published with MAMMAL.

The files' frame has the long axis along y (nose towards -y), z up and the animal's left towards +x, in arbitrary
units. :func:`load_sam` rotates it into the project convention (nose towards +x, left towards +y, z up) by
``x' = -y, y' = x, z' = z`` and scales it so that the nose-to-tail-base distance of the mouse-22 landmarks is
``length`` metres (9.5 cm for an adult C57BL/6 by default). The root joint lies on the floor under the pelvis and
becomes the body frame's origin. All 140 joints and the published skinning are kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import ModelFormatError
from .fetch import cached_model_dir
from .groups import FIXED_GROUP
from .keypoints import KeypointDef
from .limits import limits_for_groups
from .mesh import SkinnedMesh, normalize_weights, validate_weights
from .model import Body
from .skeleton import Skeleton, anatomical_frames, topological_levels
from .textio import read_names, read_table
from .tongue import TongueShape, with_tongue

SAM_FILES = (
    "vertices.txt",
    "faces_vert.txt",
    "textures.txt",
    "faces_tex.txt",
    "joint_names.txt",
    "parents.txt",
    "t_pose_joints.txt",
    "skinning_weights.txt",
    "keypoint22_mapper.json",
    "keypoint22_names.txt",
)
DEFAULT_LENGTH_M = 0.095
SAM_TO_BODY = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # rows: new x, y, z

# Names for the mapper's unnamed entries 22..46, read off the rest mesh (eyes, digit tips, dorsal midline).
_EXTRA_LANDMARKS = (
    ["left_eye", "right_eye"]
    + [f"left_forepaw_digit{i}_tip" for i in range(1, 6)]
    + [f"right_forepaw_digit{i}_tip" for i in range(1, 6)]
    + [f"left_hindpaw_digit{i}_tip" for i in range(1, 6)]
    + [f"right_hindpaw_digit{i}_tip" for i in range(1, 6)]
    + ["back_rump", "back_middle", "back_shoulders"]
)

_GROUP_RULES: tuple[tuple[str, str], ...] = (
    (r".*_end$", FIXED_GROUP),
    (r"^root$", "root"),
    (r"^lumbar_vertebrae_1$", "pelvis"),
    (r"^lumbar_vertebrae_0$", "tail"),
    (r"^tail_\d+$", "tail"),
    (r"^(lumbar_vertebrae_[23]|thoracic_vertebrae_\d)$", "spine"),
    (r"^cervical_vertebrae_\d$", "neck"),
    (r"^skull$", "head"),
    (r"^mandible$", "jaw"),
    (r"^tongue_(base|tip)$", "tongue"),
    (r"^ear(_tip)?_([lr])$", r"ear_\2"),
    (r"^scapula_([lr])$", r"scapula_\1"),
    (r"^humerus_([lr])$", r"shoulder_\1"),
    (r"^ulna_([lr])$", r"elbow_\1"),
    (r"^fore_paw_([lr])$", r"wrist_\1"),
    (r"^fore_paw_digit_\w+_([lr])$", r"fore_digits_\1"),
    (r"^femur_([lr])$", r"hip_\1"),
    (r"^tibia_([lr])$", r"knee_\1"),
    (r"^hind_paw_([lr])$", r"ankle_\1"),
    (r"^hind_paw_digit_\w+_([lr])$", r"hind_digits_\1"),
    (r".*", FIXED_GROUP),  # helper bones: perlvis, *_stretch*, chest, cheeks, snout, tongue_target
)


# SAM's rest pose is the Blender rig's T-pose: the hind legs stretched backwards, the feet pointing back
# (soles up). A standing mouse needs the ankle dorsiflexed by ~150 degrees and the hip bent further than the
# shared limits (written about a standing rest pose) allow. Left-side values in degrees; the right side
# mirrors them as (flex, -lateral, -twist).
SAM_LIMIT_OVERRIDES_DEG: dict[str, dict[str, tuple[float, float]]] = {
    "hip": {"flex": (-60.0, 105.0), "lateral": (-65.0, 35.0)},
    "ankle": {"flex": (-175.0, 60.0), "lateral": (-50.0, 20.0)},
}


def sam_limits(groups: tuple[str, ...]) -> np.ndarray:
    """``(J, 3, 2)`` joint limits (radians) for SAM: the shared group limits, then the SAM overrides."""
    limits = limits_for_groups(groups)
    axes = ("flex", "lateral", "twist")
    for j, group in enumerate(groups):
        base, _, side = group.rpartition("_")
        if side not in ("l", "r") or base not in SAM_LIMIT_OVERRIDES_DEG:
            continue
        for axis, (lo, hi) in SAM_LIMIT_OVERRIDES_DEG[base].items():
            a = axes.index(axis)
            if side == "r" and a > 0:
                lo, hi = -hi, -lo
            limits[j, a] = np.radians([lo, hi])
    return limits


def sam_joint_group(name: str) -> str:
    """Anatomical group of a SAM joint, from its name."""
    for pattern, group in _GROUP_RULES:
        match = re.match(pattern, name)
        if match:
            return match.expand(group)
    return FIXED_GROUP  # pragma: no cover - the last rule matches everything


def _read_mapper(folder: Path, n_vertices: int, n_joints: int) -> list[dict]:
    path = folder / "keypoint22_mapper.json"
    if not path.is_file():
        raise ModelFormatError(path, "file not found")
    try:
        entries = json.loads(path.read_text())["mapper"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelFormatError(path, f"expected a JSON object with a 'mapper' list ({exc})") from None
    for i, entry in enumerate(entries):
        kind, ids = entry.get("type"), entry.get("ids", [])
        limit = n_vertices if kind == "V" else n_joints
        if kind not in ("V", "J") or not ids or min(ids) < 0 or max(ids) >= limit:
            raise ModelFormatError(
                path, f"mapper entry {i}: type must be 'V' or 'J' with ids in 0..{limit - 1}, got {entry}"
            )
    return entries


def find_sam_folder(path: str | Path | None = None) -> Path:
    """The SAM folder: ``path`` if given, else the user cache (after ``synthmouse model fetch sam``)."""
    if path is not None:
        return Path(path)
    return cached_model_dir("sam")


def load_sam(path: str | Path | None = None, length: float = DEFAULT_LENGTH_M) -> Body:
    """Load the SAM mouse from a folder of the plain-text export (see the module docstring)."""
    folder = find_sam_folder(path)
    if not folder.is_dir():
        raise ModelFormatError(folder, "SAM model folder not found; run `synthmouse model fetch sam` or pass --model")
    vertices = read_table(folder / "vertices.txt", 3)
    faces = read_table(folder / "faces_vert.txt", 3, "int")
    uvs = read_table(folder / "textures.txt", 2)
    face_uvs = read_table(folder / "faces_tex.txt", 3, "int")
    names = read_names(folder / "joint_names.txt")
    parents = read_table(folder / "parents.txt", 1, "int")[:, 0]
    joints = read_table(folder / "t_pose_joints.txt", 3)
    weights_table = read_table(folder / "skinning_weights.txt", 3)
    n_v, n_j = len(vertices), len(names)

    _check_index_range(folder / "faces_vert.txt", faces, n_v, "vertex")
    _check_index_range(folder / "faces_tex.txt", face_uvs, len(uvs), "texture coordinate")
    if len(face_uvs) != len(faces):
        raise ModelFormatError(folder / "faces_tex.txt", f"{len(face_uvs)} rows, expected {len(faces)} (one per face)")
    for fname, count in (("parents.txt", len(parents)), ("t_pose_joints.txt", len(joints))):
        if count != n_j:
            raise ModelFormatError(folder / fname, f"{count} rows, expected {n_j} (one per joint in joint_names.txt)")
    topological_levels(parents, source=str(folder / "parents.txt"))
    weights = _read_weights(folder / "skinning_weights.txt", weights_table, n_v, n_j)
    mapper = _read_mapper(folder, n_v, n_j)
    landmark_names = read_names(folder / "keypoint22_names.txt") + _EXTRA_LANDMARKS

    # Landmarks in raw coordinates, for the scale.
    def raw_point(entry: dict) -> np.ndarray:
        return (vertices if entry["type"] == "V" else joints)[entry["ids"]].mean(axis=0)

    nose, tail_root = raw_point(mapper[2]), raw_point(mapper[5])
    scale = length / float(np.linalg.norm(nose - tail_root))
    to_body = SAM_TO_BODY * scale
    verts_body = (vertices @ to_body.T).astype(np.float32)
    joints_body = joints @ to_body.T

    groups = tuple(sam_joint_group(n) for n in names)
    skeleton = Skeleton(
        names=tuple(names),
        parents=parents,
        rest=anatomical_frames(joints_body, parents),
        groups=groups,
        limits=sam_limits(groups),
    )
    mesh = SkinnedMesh(
        vertices=verts_body,
        faces=faces.astype(np.int32),
        weights=weights,
        uvs=uvs.astype(np.float32),
        face_uvs=face_uvs.astype(np.int32),
    )
    landmarks = {}
    for entry, lname in zip(mapper, landmark_names, strict=False):
        landmarks[lname] = _landmark_from_mapper(lname, entry, names, joints_body, skeleton)
    _add_derived_landmarks(landmarks, skeleton, joints_body, names)
    body = Body(name="sam", skeleton=skeleton, mesh=mesh, landmarks=landmarks, source=str(folder))
    return with_tongue(body, sam_tongue(length))


def sam_tongue(length: float) -> TongueShape:
    """SAM's tongue (the published mesh has tongue bones but no tongue skin): on the floor of the mouth between
    the mandible's joint and the lower incisors, scaled with the body length (metres); the added protrusion pivot
    lies 40 mm below it."""
    k = length / DEFAULT_LENGTH_M
    return TongueShape(
        (0.0525 * k, 0.0, 0.0061 * k),
        (0.0621 * k, 0.0, 0.0043 * k),
        0.0016 * k,
        0.0007 * k,
        pivot=(0.0575 * k, 0.0, -0.035 * k),
    )


def _check_index_range(path: Path, table: np.ndarray, limit: int, what: str) -> None:
    bad = np.argwhere((table < 0) | (table >= limit))
    if bad.size:
        r, c = (int(i) for i in bad[0])
        raise ModelFormatError(path, f"{what} index {table[r, c]} is outside 0..{limit - 1}", r + 1)


def _read_weights(path: Path, table: np.ndarray, n_v: int, n_j: int) -> sp.csr_matrix:
    joint, vertex = table[:, 0], table[:, 1]
    for col, (values, limit, what) in enumerate(((joint, n_j, "joint"), (vertex, n_v, "vertex"))):
        bad = np.flatnonzero((values < 0) | (values >= limit) | (values != np.round(values)))
        if bad.size:
            r = int(bad[0])
            raise ModelFormatError(
                path, f"column {col + 1}: {what} index {values[r]:g} is outside 0..{limit - 1}", r + 1
            )
    w = table[:, 2]
    if (w < 0).any():
        r = int(np.flatnonzero(w < 0)[0])
        raise ModelFormatError(path, f"negative weight {w[r]:g}", r + 1)
    matrix = sp.csr_matrix((w, (vertex.astype(np.int64), joint.astype(np.int64))), shape=(n_v, n_j))
    missing = np.flatnonzero(np.diff(matrix.indptr) == 0)
    if missing.size:
        raise ModelFormatError(path, f"vertex {int(missing[0])} has no skinning weights ({missing.size} vertices)")
    first_row = np.full(n_v, len(table), dtype=np.int64)
    np.minimum.at(first_row, vertex.astype(np.int64), np.arange(len(table)))
    validate_weights(matrix, str(path), lines=first_row + 1)  # line of each vertex's first weight (no blank lines)
    return normalize_weights(matrix)


def _landmark_from_mapper(
    name: str, entry: dict, joint_names: list[str], joints_body: np.ndarray, skeleton: Skeleton
) -> KeypointDef:
    if entry["type"] == "V":
        return KeypointDef(name, vertices=tuple(int(i) for i in entry["ids"]))
    ids = list(entry["ids"])
    anchor = min(ids, key=lambda j: len(skeleton.descendants(j)) * -1)  # the most proximal joint of the entry
    target = joints_body[ids].mean(axis=0)
    frame = skeleton.rest[anchor]
    offset = frame[:3, :3].T @ (target - frame[:3, 3])
    return KeypointDef(name, joint=joint_names[anchor], offset=tuple(float(x) for x in offset))


def _add_derived_landmarks(
    landmarks: dict[str, KeypointDef], skeleton: Skeleton, joints_body: np.ndarray, names: list[str]
) -> None:
    """Landmarks other keypoint sets need that the mapper lacks: anatomical joint centres and ear bases.

    Note that the mouse-22 names follow MAMMAL's mapper, whose ``left_hip`` is the knee joint (``tibia_l``) and
    ``left_knee`` the ankle joint (``hind_paw_l``); the ``*_joint`` landmarks are the anatomical joint centres.
    """
    for side, lr in (("l", "left"), ("r", "right")):
        for joint, what in (
            ("humerus", "shoulder"),
            ("ulna", "elbow"),
            ("fore_paw", "wrist"),
            ("femur", "hip"),
            ("tibia", "knee"),
            ("hind_paw", "ankle"),
        ):
            landmarks.setdefault(f"{lr}_{what}_joint", KeypointDef(f"{lr}_{what}_joint", joint=f"{joint}_{side}"))
        landmarks.setdefault(f"{lr}_ear_base", KeypointDef(f"{lr}_ear_base", joint=f"ear_{side}"))
    landmarks.setdefault("head_centre", KeypointDef("head_centre", joint="skull"))
