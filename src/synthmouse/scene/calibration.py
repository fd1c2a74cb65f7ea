"""Read and write the camera calibration files labs already have.

Formats (chosen by the file suffix):

* ``.toml``: Anipose / aniposelib ``CameraGroup.dump`` layout (also Pose2Sim's). One table per camera
  (aniposelib writes ``[cam_0]``, ``[cam_1]``, ...) with ``name``, ``size = [width, height]``, ``matrix``
  (3x3), ``distortions`` (5 values ``k1 k2 p1 p2 k3``), ``rotation`` (Rodrigues vector), ``translation``, and
  an optional ``[metadata]`` table. Cameras are returned in file order (aniposelib itself sorts the table
  names as strings, so with 10 or more cameras its order is cam_0, cam_1, cam_10, ...). Fisheye cameras
  (``fisheye = true``) are rejected: their model differs.
* ``.yaml`` / ``.yml`` / ``.json`` / ``.xml``: OpenCV ``cv2.FileStorage`` with ``camera_matrix``,
  ``distortion_coefficients``, ``image_width``, ``image_height``, ``R`` (3x3) or ``rvec`` (3), ``T`` or
  ``tvec`` (3), optional ``camera_name``. One camera at the top level, or several as top-level maps
  (``cam_0: {...}``); missing extrinsics mean the identity pose.

Calibration files store translations in the calibration board's unit, often millimetres; synthmouse works in
metres. Pass ``unit="mm"`` (or ``"cm"``) and translations are converted on read and back on write.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from synthmouse.fileio import atomic_open, atomic_path
from synthmouse.scene.camera import Camera, CameraError

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
TOML_SUFFIXES = (".toml",)
FILESTORAGE_SUFFIXES = (".yaml", ".yml", ".json", ".xml")


class CalibrationError(CameraError):
    """A calibration file is malformed, or cameras cannot be written in the requested format."""


# ---------------------------------------------------------------------- public API
def load_cameras(path: str | Path, unit: str = "m") -> list[Camera]:
    """Read cameras from an Anipose ``.toml`` or an OpenCV FileStorage ``.yaml/.yml/.json/.xml`` file.

    Args:
        path: calibration file.
        unit: unit of the file's translations (``"m"``, ``"cm"``, ``"mm"``); converted to metres.

    Returns:
        The cameras, in file order.
    """
    path = Path(path)
    scale = _unit_scale(unit, path)
    if not path.is_file():
        raise CalibrationError(f"{path}: calibration file not found")
    suffix = path.suffix.lower()
    if suffix in TOML_SUFFIXES:
        return load_anipose_toml(path, unit)
    if suffix in FILESTORAGE_SUFFIXES:
        return _load_filestorage(path, scale)
    raise CalibrationError(
        f"{path}: unknown calibration suffix {path.suffix!r}; "
        f"allowed: {', '.join(TOML_SUFFIXES + FILESTORAGE_SUFFIXES)}"
    )


def save_cameras(cameras: Sequence[Camera], path: str | Path, unit: str = "m", metadata: Mapping | None = None) -> None:
    """Write cameras atomically as Anipose ``.toml`` or OpenCV FileStorage ``.yaml/.yml/.json/.xml``.

    Args:
        cameras: the cameras (proper rotations only; mirror cameras cannot be stored).
        path: output file; its suffix picks the format.
        unit: unit for the written translations (``"m"``, ``"cm"``, ``"mm"``).
        metadata: Anipose ``[metadata]`` entries (scalars or lists of scalars); ignored by FileStorage.
    """
    path = Path(path)
    scale = _unit_scale(unit, path)
    cameras = list(cameras)
    if not cameras:
        raise CalibrationError(f"{path}: no cameras to write")
    for camera in cameras:
        if camera.is_reflected:
            raise CalibrationError(f"{path}: camera {camera.name!r} is a mirror camera (det R = -1); not storable")
    suffix = path.suffix.lower()
    if suffix in TOML_SUFFIXES:
        text = anipose_toml_text(cameras, scale, metadata or {}, path)
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    elif suffix in FILESTORAGE_SUFFIXES:
        _save_filestorage(cameras, path, scale)
    else:
        raise CalibrationError(
            f"{path}: unknown calibration suffix {path.suffix!r}; "
            f"allowed: {', '.join(TOML_SUFFIXES + FILESTORAGE_SUFFIXES)}"
        )


def load_anipose_metadata(path: str | Path) -> dict:
    """The ``[metadata]`` table of an Anipose calibration file (empty if absent)."""
    return dict(_read_toml(Path(path)).get("metadata", {}))


# ---------------------------------------------------------------------- Anipose TOML
def load_anipose_toml(path: str | Path, unit: str = "m") -> list[Camera]:
    """Cameras from an Anipose ``calibration.toml`` (see the module docstring for the layout)."""
    path = Path(path)
    scale = _unit_scale(unit, path)
    data = _read_toml(path)
    cameras = []
    for key, table in data.items():
        if key == "metadata":
            continue
        if not isinstance(table, dict):
            raise CalibrationError(f"{path}: top-level key {key!r} = {table!r} is not a camera table [{key}]")
        cameras.append(_anipose_camera(table, key, path, scale))
    if not cameras:
        raise CalibrationError(f"{path}: no camera tables (expected [cam_0], [cam_1], ...)")
    return cameras


def anipose_toml_text(
    cameras: Sequence[Camera],
    scale: float = 1.0,
    metadata: Mapping | None = None,
    path: Path | str = "<toml>",
) -> str:
    """TOML text in aniposelib's layout for ``cameras``; translations divided by ``scale`` (m per unit)."""
    lines: list[str] = []
    for index, camera in enumerate(cameras):
        lines += [
            f"[cam_{index}]",
            f"name = {_toml_value(camera.name, path, 'name')}",
            f"size = {_toml_value([camera.width, camera.height], path, 'size')}",
            f"matrix = {_toml_value(camera.K.tolist(), path, 'matrix')}",
            f"distortions = {_toml_value(camera.dist.tolist(), path, 'distortions')}",
            f"rotation = {_toml_value(camera.rvec.tolist(), path, 'rotation')}",
            f"translation = {_toml_value((camera.t / scale).tolist(), path, 'translation')}",
            "",
        ]
    lines.append("[metadata]")
    for key, value in (metadata or {}).items():
        lines.append(f"{_toml_key(str(key))} = {_toml_value(value, path, f'metadata.{key}')}")
    return "\n".join(lines) + "\n"


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{path}: not valid TOML: {exc}") from None


def _anipose_camera(table: dict, key: str, path: Path, scale: float) -> Camera:
    where = f"{path}: [{key}]"
    if table.get("fisheye", False):
        raise CalibrationError(f"{where}: fisheye = true; only the OpenCV pinhole model (k1 k2 p1 p2 k3) is supported")
    for field in ("size", "matrix", "distortions", "rotation", "translation"):
        if field not in table:
            raise CalibrationError(f"{where}: missing field {field!r}")
    size = _numbers(table["size"], (2,), where, "size")
    if not all(float(s).is_integer() and s > 0 for s in size):
        raise CalibrationError(f"{where}: field 'size' {table['size']!r} must be two positive integers [w, h]")
    name = str(table.get("name", key))
    matrix = _numbers(table["matrix"], (3, 3), where, "matrix")
    dist = np.ravel(_numbers(table["distortions"], None, where, "distortions"))
    rvec = _numbers(table["rotation"], (3,), where, "rotation")
    tvec = _numbers(table["translation"], (3,), where, "translation") * scale
    try:
        return Camera.from_rvec_tvec(name, rvec, tvec, matrix, dist, int(size[0]), int(size[1]))
    except CameraError as exc:
        raise CalibrationError(f"{where}: {exc}") from None


def _numbers(value, shape: tuple[int, ...] | None, where: str, field: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationError(f"{where}: field {field!r} {value!r} is not an array of numbers") from None
    if shape is not None and array.shape != shape:
        raise CalibrationError(f"{where}: field {field!r} {value!r} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise CalibrationError(f"{where}: field {field!r} {value!r} has non-finite values")
    return array


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value, path: Path | str, field: str) -> str:
    """A TOML literal for bools, ints, floats (round-trip repr), strings and (nested) lists of them."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list | tuple | np.ndarray):
        return "[" + ", ".join(_toml_value(v, path, field) for v in value) + "]"
    raise CalibrationError(
        f"{path}: field {field!r} value {value!r} of type {type(value).__name__} cannot be written to TOML "
        "(allowed: bool, int, float, str and lists of them)"
    )


# ---------------------------------------------------------------------- OpenCV FileStorage
def _load_filestorage(path: Path, scale: float) -> list[Camera]:
    try:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except cv2.error as exc:
        raise CalibrationError(f"{path}: OpenCV FileStorage cannot parse it: {str(exc).strip()}") from None
    if not storage.isOpened():
        raise CalibrationError(f"{path}: OpenCV FileStorage cannot open it")
    try:
        root = storage.root()
        if not root.getNode("camera_matrix").empty():
            return [_filestorage_camera(root, path.stem, f"{path}", scale)]
        cameras = []
        for key in root.keys():
            node = root.getNode(key)
            if node.isMap() and not node.getNode("camera_matrix").empty():
                cameras.append(_filestorage_camera(node, key, f"{path}: {key}", scale))
        if not cameras:
            raise CalibrationError(
                f"{path}: no 'camera_matrix' at the top level nor in any top-level map (found keys {root.keys()})"
            )
        return cameras
    finally:
        storage.release()


def _filestorage_camera(node, default_name: str, where: str, scale: float) -> Camera:
    name_node = node.getNode("camera_name")
    name = name_node.string() if not name_node.empty() else default_name
    K = _fs_matrix(node, "camera_matrix", where, (3, 3))
    dist = (
        np.ravel(_fs_matrix(node, "distortion_coefficients", where, None))
        if _has(node, "distortion_coefficients")
        else np.zeros(5)
    )
    width = _fs_int(node, "image_width", where)
    height = _fs_int(node, "image_height", where)
    if _has(node, "R"):
        R = _fs_matrix(node, "R", where, None)
        if R.size == 3:
            R = cv2.Rodrigues(R.reshape(3, 1))[0]
        elif R.shape != (3, 3):
            raise CalibrationError(f"{where}: field 'R' has shape {R.shape}, expected (3, 3) or a rotation vector")
    elif _has(node, "rvec"):
        R = cv2.Rodrigues(_fs_matrix(node, "rvec", where, None).reshape(3, 1).astype(np.float64))[0]
    else:
        R = np.eye(3)
    t_field = "T" if _has(node, "T") else "tvec" if _has(node, "tvec") else None
    t = np.zeros(3) if t_field is None else _fs_matrix(node, t_field, where, None).reshape(-1)
    if t.shape != (3,):
        raise CalibrationError(f"{where}: field {t_field!r} has {t.size} values, expected 3")
    try:
        return Camera(name, width, height, K, dist, R, t * scale)
    except CameraError as exc:
        raise CalibrationError(f"{where}: {exc}") from None


def _has(node, key: str) -> bool:
    return not node.getNode(key).empty()


def _fs_matrix(node, key: str, where: str, shape: tuple[int, ...] | None) -> np.ndarray:
    child = node.getNode(key)
    if child.empty():
        raise CalibrationError(f"{where}: missing field {key!r}")
    if child.isSeq():  # plain list instead of an !!opencv-matrix
        values = [child.at(i).real() for i in range(child.size())]
        array = np.array(values, dtype=np.float64)
        if shape is not None and array.size == int(np.prod(shape)):
            array = array.reshape(shape)
    else:
        array = child.mat()
        if array is None:
            raise CalibrationError(f"{where}: field {key!r} is not a matrix or a list of numbers")
        array = np.asarray(array, dtype=np.float64)
    if shape is not None and array.shape != shape:
        raise CalibrationError(f"{where}: field {key!r} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise CalibrationError(f"{where}: field {key!r} {array.tolist()} has non-finite values")
    return array


def _fs_int(node, key: str, where: str) -> int:
    child = node.getNode(key)
    if child.empty() or not child.isReal() and not child.isInt():
        raise CalibrationError(f"{where}: missing or non-numeric field {key!r}")
    value = child.real()
    if not float(value).is_integer() or value <= 0:
        raise CalibrationError(f"{where}: field {key!r} = {value} must be a positive integer")
    return int(value)


def _save_filestorage(cameras: list[Camera], path: Path, scale: float) -> None:
    with atomic_path(path) as tmp:
        storage = cv2.FileStorage(str(tmp), cv2.FILE_STORAGE_WRITE)
        if not storage.isOpened():
            raise CalibrationError(f"{path}: OpenCV FileStorage cannot write it")
        try:
            if len(cameras) == 1:
                _write_fs_camera(storage, cameras[0], scale)
            else:
                for index, camera in enumerate(cameras):
                    storage.startWriteStruct(f"cam_{index}", cv2.FileNode_MAP)
                    _write_fs_camera(storage, camera, scale)
                    storage.endWriteStruct()
        finally:
            storage.release()


def _write_fs_camera(storage, camera: Camera, scale: float) -> None:
    storage.write("camera_name", camera.name)
    storage.write("image_width", camera.width)
    storage.write("image_height", camera.height)
    storage.write("camera_matrix", np.ascontiguousarray(camera.K))
    storage.write("distortion_coefficients", camera.dist.reshape(5, 1).copy())
    storage.write("R", np.ascontiguousarray(camera.R))
    storage.write("T", (camera.t / scale).reshape(3, 1).copy())


def _unit_scale(unit: str, path: Path) -> float:
    if unit not in UNITS:
        raise CalibrationError(f"{path}: unit {unit!r} is not one of {', '.join(UNITS)}")
    return UNITS[unit]
