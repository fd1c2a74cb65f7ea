"""Change a few values of a scene file and keep everything else exactly as the user wrote it.

``fit-camera`` and ``fit-appearance`` write their results into the user's scene file. A YAML dump would
re-indent it, re-flow its flow mappings and lose comments, so the edits here are made on the text: the YAML is
composed (``ruamel.yaml``, which keeps every node's position), and only the spans of the changed values are
replaced. New keys are added on their own line in the mapping's indentation; removed keys are commented out
(``# replaced by fit-camera: look_at: ...``), so the user's own comments on those lines survive.

Values are written in flow style (``[1.0, 2.0]``, ``{rvec: [...]}``); floats with at most ``digits``
significant digits.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from synthmouse.errors import SceneError
from synthmouse.fileio import atomic_path
from synthmouse.scene.camera import Camera
from synthmouse.scene.spec import parse_scene_spec

PLAIN = re.compile(r"^[A-Za-z0-9_./\\][A-Za-z0-9_./\\ +-]*$")


def format_value(value: Any, digits: int = 10) -> str:
    """``value`` as a one-line YAML flow value (floats with ``digits`` significant digits)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value += 0.0  # no "-0.0"
        if not math.isfinite(value):
            raise SceneError(f"cannot write the non-finite number {value} into a scene file")
        text = f"{value:.{digits}g}"
        if "e" not in text and "." not in text:
            text += ".0"
        return text
    if isinstance(value, str):
        if PLAIN.match(value) and value.strip() == value and value.lower() not in ("true", "false", "null", "~"):
            try:
                float(value)
            except ValueError:
                return value
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {format_value(v, digits)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(format_value(v, digits) for v in value) + "]"
    if hasattr(value, "tolist"):
        return format_value(value.tolist(), digits)
    raise SceneError(f"cannot write a {type(value).__name__} into a scene file")


def _compose(text: str, source: str) -> Node | None:
    try:
        return YAML(typ="rt").compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise SceneError(f"{source}{line}: not valid YAML: {exc.problem}") from None


def _is_flow(node: Node) -> bool:
    return bool(getattr(node, "flow_style", False))


def end_index(node: Node) -> int:
    """Character index just after the last character of ``node``'s content (trailing comments excluded)."""
    if _is_flow(node) or not isinstance(node, (MappingNode, SequenceNode)):
        return node.end_mark.index
    children = [c for pair in node.value for c in pair] if isinstance(node, MappingNode) else list(node.value)
    return max((end_index(c) for c in children), default=node.end_mark.index)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _pairs(node: MappingNode) -> dict:
    return {str(k.value): (k, v) for k, v in node.value}


def find_node(text: str, path: Sequence, source: str = "<scene>") -> Node | None:
    """The node at ``path`` (keys, or ``{key: value}`` picking the sequence item whose ``key`` is ``value``);
    None when a step is missing."""
    node = _compose(text, source)
    for step in path:
        if isinstance(step, Mapping):
            if not isinstance(node, SequenceNode):
                return None
            ((key, wanted),) = step.items()
            node = next(
                (
                    item
                    for item in node.value
                    if isinstance(item, MappingNode) and key in _pairs(item) and _pairs(item)[key][1].value == wanted
                ),
                None,
            )
        else:
            if not isinstance(node, MappingNode) or step not in _pairs(node):
                return None
            node = _pairs(node)[step][1]
        if node is None:
            return None
    return node


def edit_mapping(
    text: str,
    path: Sequence,
    values: Mapping[str, Any],
    remove: Sequence[str] = (),
    note: str = "replaced",
    source: str = "<scene>",
    digits: int = 10,
    insert_after: str | None = None,
) -> str:
    """``text`` with the mapping at ``path`` changed: ``values`` set (in place when the key exists, else added
    after the mapping's last key, in ``values``' order), ``remove`` keys commented out with ``# {note}:``.

    Args:
        path: see :func:`find_node` (``()`` is the document's top level).
        insert_after: for new top-level keys, a regular expression of a line (e.g. a commented example) after
            which they go instead of the end of the file.

    Raises:
        SceneError: the path does not lead to a mapping.
    """
    node = find_node(text, path, source) if path else _compose(text, source)
    if node is None and not path:
        node_pairs: dict = {}
    elif not isinstance(node, MappingNode):
        where = ".".join(str(p) if not isinstance(p, Mapping) else str(dict(p)) for p in path)
        raise SceneError(f"{source}: {where or 'the file'} is not a mapping; cannot set {', '.join(values)}")
    else:
        node_pairs = _pairs(node)
    edits: list[tuple[int, int, str]] = []
    new = {k: v for k, v in values.items() if k not in node_pairs}
    if node is not None and _is_flow(node):
        parts = []
        for key, (k, v) in node_pairs.items():
            if key in values:
                parts.append(f"{key}: {format_value(values[key], digits)}")
            elif key not in remove:
                parts.append(text[k.start_mark.index : end_index(v)])
        parts += [f"{key}: {format_value(value, digits)}" for key, value in new.items()]
        edits.append((node.start_mark.index, node.end_mark.index, "{" + ", ".join(parts) + "}"))
        return _apply(text, edits)
    pairs = list(node_pairs.items())
    indent = pairs[0][1][0].start_mark.column if pairs else 0
    pad = " " * indent
    for position, (key, (k, v)) in enumerate(pairs):
        end = end_index(v)
        if key in values:
            replacement = format_value(values[key], digits)
            if v.start_mark.line == k.start_mark.line and v.start_mark.index >= k.end_mark.index:
                gap = re.match(r"[ \t]*(?=#)", text[end : _line_end(text, end)])
                if gap and gap.group():  # keep a trailing comment in its column where there is room
                    room = len(gap.group()) + (end - v.start_mark.index) - len(replacement)
                    end, replacement = end + len(gap.group()), replacement + " " * max(room, 1)
                edits.append((v.start_mark.index, end, replacement))
            else:  # an empty value, or a block value starting on the next line
                edits.append((k.end_mark.index, end, ": " + replacement))
        elif key in remove:
            if position == 0:  # after "- ": cannot become a comment line; leave the key out
                nxt = pairs[1][1][0].start_mark.index if len(pairs) > 1 else _line_end(text, end)
                edits.append((k.start_mark.index, nxt, ""))
                continue
            first, last = _line_start(text, k.start_mark.index), _line_end(text, end)
            lines = text[first:last].split("\n")
            commented = [f"{pad}# {note}: {lines[0].strip()}"] + [f"{pad}#   {line.strip()}" for line in lines[1:]]
            edits.append((first, last, "\n".join(commented)))
    if new:
        added = "".join(f"\n{pad}{key}: {format_value(value, digits)}" for key, value in new.items())
        if pairs:
            at = _line_end(text, end_index(pairs[-1][1][1]))
        else:
            at = len(text.rstrip("\n"))
            if at == 0:
                added = added.lstrip("\n")
        if not path and insert_after is not None:
            match = re.search(insert_after, text, flags=re.MULTILINE)
            if match is not None:
                at = _line_end(text, match.start())
        edits.append((at, at, added))
    out = _apply(text, edits)
    return out if out.endswith("\n") or not text.endswith("\n") else out + "\n"


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    # later spans first so earlier indices stay valid; an insertion at a span's end goes before it is replaced
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def write_appearance_to_scene(
    scene_path: str | Path,
    profile_path: str | Path,
    camera: str | None = None,
    video_size: tuple[int, int] | None = None,
) -> tuple[str, str]:
    """Point a scene file's ``appearance`` at ``profile_path`` (relative to the scene's folder when it can be),
    for ``camera`` (``{camera: path}``) or the scene's only camera (a plain path); the rest of the file as
    written. The result is validated before it is written (atomically).

    Returns:
        The line written (``appearance: ...``) and a note when the camera's image size differs from the
        video's ``video_size`` (empty otherwise).
    """
    scene_path, profile_path = Path(scene_path), Path(profile_path)
    text = scene_path.read_text(encoding="utf-8")
    source = str(scene_path)
    try:
        rel = Path(os.path.relpath(profile_path.resolve(), scene_path.resolve().parent)).as_posix()
    except ValueError:  # another drive
        rel = profile_path.resolve().as_posix()
    current = find_node(text, ["appearance"], source)
    if camera is None:
        value: Any = rel
        text = edit_mapping(text, (), {"appearance": rel}, source=source, insert_after=r"^# *appearance:")
    elif isinstance(current, MappingNode):
        value = {camera: rel}
        text = edit_mapping(text, ["appearance"], {camera: rel}, source=source)
    else:
        value = {camera: rel}
        text = edit_mapping(text, (), {"appearance": value}, source=source, insert_after=r"^# *appearance:")
    spec = parse_scene_spec(text, source=scene_path)
    with atomic_path(scene_path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    note = ""
    if video_size is not None:
        cams = [c for c in spec.cameras if camera is None or c.name == camera]
        if cams and cams[0].width is not None and cams[0].height is not None:
            size = (int(cams[0].width), int(cams[0].height))
            if size != tuple(video_size):
                note = (
                    f"camera {cams[0].name!r} renders {size[0]}x{size[1]} but the video is "
                    f"{video_size[0]}x{video_size[1]}: the profile would be stretched; run fit-camera (it sets "
                    "the size) or set the camera's width and height"
                )
    return f"appearance: {format_value(value)}", note


# ---------------------------------------------------------------------- fitted cameras
def camera_scene_entry(camera: Camera) -> dict:
    """The scene-file ``cameras[]`` fields for ``camera`` (intrinsics, distortion, rotation rvec,
    translation), rounded to what calibration can tell: 0.001 px, 1e-7 of distortion, 1e-9 rad, 1e-9 m."""
    return {
        "width": int(camera.width),
        "height": int(camera.height),
        "fx": round(float(camera.fx), 3),
        "fy": round(float(camera.fy), 3),
        "cx": round(float(camera.cx), 3),
        "cy": round(float(camera.cy), 3),
        "distortion": [round(float(v), 7) for v in camera.dist],
        "rotation": {"rvec": [round(float(v), 9) for v in camera.rvec]},
        "translation": [round(float(v), 9) for v in camera.t],
    }


REPLACED_CAMERA_KEYS = ("look_at", "fov_deg", "calibration", "calibration_name", "rotation", "translation")


def scene_text_with_camera(
    scene_path: str | Path,
    camera: Camera,
    rig_size: tuple[float, ...] | None = None,
    wall_height: float | None = None,
) -> str:
    """The scene file's text with camera ``camera.name`` replaced by ``camera`` and, when given, the rig's
    ``size`` / ``wall_height``; every other character as the user wrote it (:func:`edit_mapping`: the
    camera's ``look_at``, ``fov_deg`` or ``calibration`` lines are commented out, not deleted)."""
    scene_path = Path(scene_path)
    try:
        text = scene_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SceneError(f"{scene_path}: cannot read the scene file ({exc.strerror})") from None
    source = str(scene_path)
    cameras = find_node(text, ["cameras"], source)
    names = [str(c) for c in _camera_names(cameras)]
    if camera.name not in names:
        raise SceneError(
            f"{scene_path}: no camera named {camera.name!r} in cameras (has: {', '.join(names) or 'none'}); "
            "choose one with --camera"
        )
    entry = camera_scene_entry(camera)
    values = {k: entry[k] for k in ("width", "height", "fx", "fy", "cx", "cy", "distortion")}
    values |= {"rotation": entry["rotation"], "translation": entry["translation"]}
    remove = [k for k in REPLACED_CAMERA_KEYS if k not in values]
    text = edit_mapping(
        text, ["cameras", {"name": camera.name}], values, remove, note="replaced by fit-camera", source=source
    )
    rig: dict = {}
    if rig_size is not None:
        rig["size"] = [round(float(v), 4) for v in rig_size]  # 0.1 mm
    if wall_height is not None:
        rig["wall_height"] = round(float(wall_height), 4)
    if rig:
        text = edit_mapping(text, ["rig"], rig, source=source)
    return text


def _camera_names(node: Node | None) -> list:
    if not isinstance(node, SequenceNode):
        return []
    out = []
    for item in node.value:
        if isinstance(item, MappingNode):
            out += [v.value for k, v in item.value if k.value == "name"]
    return out


def write_camera_to_scene(
    scene_path: str | Path,
    camera: Camera,
    out_path: str | Path | None = None,
    rig_size: tuple[float, ...] | None = None,
    wall_height: float | None = None,
) -> Path:
    """Replace the pose and intrinsics of camera ``camera.name`` in a scene file, keeping the rest of the file
    as written (:func:`scene_text_with_camera`); the result is validated before it is written (atomically).
    ``rig_size`` / ``wall_height`` update the rig when a scale was fitted."""
    scene_path = Path(scene_path)
    out_path = Path(out_path) if out_path is not None else scene_path
    text = scene_text_with_camera(scene_path, camera, rig_size, wall_height)
    parse_scene_spec(text, source=out_path, base_dir=scene_path.parent)
    with atomic_path(out_path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return out_path
