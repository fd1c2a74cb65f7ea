"""A starter scene that matches the user's pose project: ``synthmouse scene new --like PROJECT``.

The project is a DeepLabCut project (``config.yaml`` + ``labeled-data/<session>/CollectedData_*.h5``/``.csv``),
a SLEAP labels file (``.slp``, through sleap-io) or a Lightning Pose labels CSV (DeepLabCut's three header
rows, image paths relative to the CSV's folder). From it come

* the **keypoints**: each of the project's names is matched to a body landmark (the shared matcher
  :func:`synthmouse.io.mapping.match_keypoints` with its table of common DeepLabCut / SLEAP names,
  then :data:`SIDE_VIEW_PARTS` for limb, digit and tongue names); when every name is a built-in set's
  (``dlc-topview`` for DeepLabCut's open field) that set is used, otherwise a keypoint file
  ``<scene>_keypoints.yaml`` is written beside the scene with the project's exact names. Names that match no
  landmark (a point on a joystick: a rig object) are left out and listed, in the file and in the output, with
  what to do. So ``report``, ``train`` and ``evaluate`` against the project need no ``--map``;
* the **cameras**: one per view (sessions whose names carry the same camera token, ``cam1``, ``side`` ..., or
  else the same image size, are one view), at the size of its images (the most common one, read from the
  image headers);
* the **rig**: a guess from the view (:func:`guess_rig`): a top view of a free mouse (both ears labelled, the
  head moving over much of the image) is an open field with a top camera; a side view of a head-fixed mouse
  (hands, digits, tongue, a joystick; the head still) is the wheel with a side camera; a free mouse seen from
  the side walks on the treadmill. ``--rig`` overrides it;
* the **scale** (when two points along the head and trunk are labelled, e.g. snout and tail base): the focal
  length that gives the rest-pose mouse the project's median distance between them in pixels, and for the open
  field an arena the size of the camera's view of the floor.

The starter file is the rig's template (``synthmouse/scene/templates``) with these values filled in (its
comments kept) and a header comment saying what was taken from the project and why.

This module lives in :mod:`synthmouse.dataset` because it reads real labels (through :mod:`synthmouse.io`) and
uses :mod:`synthmouse.scene` and :mod:`synthmouse.scene.camera_fit.scene_edit`,
which are upstream of it.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..body.keypoint_sets import _builtin_data
from ..errors import OutputError, SynthmouseError
from ..fileio import atomic_open
from ..io.label_checks import LabelError
from ..io.labels import read_dlc_table
from ..io.mapping import match_keypoints, plain
from ..scene.build import build_scene
from ..scene.camera_fit.scene_edit import edit_mapping, end_index, find_node, format_value
from ..scene.spec import parse_scene_spec

TEMPLATES = ("openfield", "wheel", "treadmill", "platform")
"""The starter rigs (``synthmouse/scene/templates/<rig>.yaml``)."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
MAX_HEADERS = 500  # image headers read per session folder (evenly spaced) for its image size

# The landmark vocabulary every body defines (docs/architecture.md). MAMMAL's shifted mouse-22 names
# (left_hip at the knee joint, left_knee at the ankle ...) are left out of name matching: a project's "hip" is
# the hip joint (``left_hip_joint``), not MAMMAL's ``left_hip``.
_SIDED = (
    "ear_tip",
    "ear_base",
    "eye",
    "paw",
    "foot",
    "shoulder_joint",
    "elbow_joint",
    "wrist_joint",
    "hip_joint",
    "knee_joint",
    "ankle_joint",
)
LANDMARKS: tuple[str, ...] = (
    "nose",
    "neck",
    "body_middle",
    "tail_root",
    "tail_middle",
    "tail_end",
    "head_centre",
    "back_shoulders",
    "back_middle",
    "back_rump",
    "tongue_tip",
    *(f"{s}_{p}" for s in ("left", "right") for p in _SIDED),
    *(f"{s}_{paw}_digit{d}_tip" for s in ("left", "right") for paw in ("forepaw", "hindpaw") for d in range(1, 6)),
)

INTERNAL = {
    "neck",
    "tail_root",
    "body_middle",
    "head_centre",
    "left_ear_base",
    "right_ear_base",
    *(f"{s}_{j}_joint" for s in ("left", "right") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")),
}
"""Landmarks inside the body, occluded in every view: a keypoint set labels them where hidden (``label_hidden``),
as human labellers estimate hidden joints."""

TOP_VIEW_SURFACE = {
    "tail_root": "dorsal_tail_root",
    "left_ear_base": "dorsal_left_ear_base",
    "right_ear_base": "dorsal_right_ear_base",
    "neck": "dorsal_neck",
    "head_centre": "dorsal_head",
    "body_middle": "dorsal_back_500",
}
"""In a top view a labeller clicks the skin a camera above sees: these internal landmarks become the derived
surface points above them (``data/keypoint_sets.yaml``), as in the built-in ``dlc-topview`` set."""

AXIAL = {
    "nose",
    "neck",
    "body_middle",
    "tail_root",
    "head_centre",
    "back_shoulders",
    "back_middle",
    "back_rump",
    "left_ear_base",
    "right_ear_base",
    "left_ear_tip",
    "right_ear_tip",
    "left_eye",
    "right_eye",
    *TOP_VIEW_SURFACE.values(),
}
"""Head and trunk landmarks: they move with the head (the rig guess) and keep their distances (the scale)."""

# Part words of keypoint names (plain: lower case, no separators; the side comes from the name or else the
# camera; `n` a digit number 1..5) -> the landmark (`{s}` the side) and what it is. Checked after the shared
# table of common names (synthmouse.io.mapping), which has few limb, digit or tongue names.
SIDE_VIEW_PARTS: tuple[tuple[str, str, str], ...] = (
    (r"(?:fore|front)?(?:hand|paw|forepaw|frontpaw|forefoot|manus|forelimb)", "{s}_paw", "fore paw"),
    (r"(?:hind|back|rear)(?:paw|foot|limb)|foot|pes", "{s}_foot", "hind paw"),
    (r"(?:finger|digit|fingertip|claw)(?P<n>[1-5])?", "{s}_forepaw_digit{n}_tip", "fore digit tip"),
    (r"(?:toe|hinddigit)(?P<n>[1-5])?", "{s}_hindpaw_digit{n}_tip", "hind digit tip"),
    (r"(?P<j>shoulder|elbow|wrist|hip|knee|ankle)(?:joint)?", "{s}_{j}_joint", "joint centre"),
    (r"ear(?:base)?", "{s}_ear_base", "ear base"),
    (r"eartip", "{s}_ear_tip", "ear tip"),
    (r"eye|pupil", "{s}_eye", "eye"),
    (r"tongue(?:tip)?|lick", "tongue_tip", "tongue tip"),
    (r"back|midback|spine(?:middle|mid)?", "back_middle", "middle of the back"),
    (r"withers|shoulders|backshoulders", "back_shoulders", "back over the shoulders"),
    (r"rump|backrump", "back_rump", "rump"),
    (r"tail", "tail_middle", "middle of the tail"),
)
RIG_OBJECT = "a point on a rig object (a joystick, lever, spout ...), not on the mouse"

# Rig-guess cues in plain names.
_SIDE_CUES = re.compile(
    r"hand|paw|foot|finger|digit|toe|wrist|elbow|knee|ankle|tongue|lick|jaw|chin|whisker|pupil|lip"
    r"|mouth"
)
_RIG_OBJECT_CUES = re.compile(r"joystick|lever|spout|pellet|handle|waterport|lickport|sensor|bar\d*$")
_TOP_CUES = re.compile(r"spine|centroid|center|centre|midback|mid$|corner|bodymiddle")
_TAIL_BASE = re.compile(r"tailbase|tailroot|tailstart")  # half a top cue: side views label it too
HEAD_FIXED_TRAVEL = 0.12  # head points moving less than this share of the image diagonal: head-fixed
FREE_TRAVEL = 0.2  # more: a freely moving mouse
_CAMERA_TOKEN = re.compile(
    r"(?:^|[_\-.\s])(cam(?:era)?[_\-]?\d+|cam[a-h]|view[_\-]?\d+|top|side|front|bottom|"
    r"ventral|lateral|overhead)(?=$|[_\-.\s])"
)


class ProjectError(SynthmouseError):
    """A pose project cannot be read as the model for a starter scene."""


# --- the project ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectView:
    """One camera of the project: its ``name`` (a camera token of its sessions, or None), image ``width`` and
    ``height`` (the most common size), the ``sessions`` (session folders, videos or label files) it stands for,
    ``n_images`` image headers read, ``other_sizes`` ``{(w, h): count}`` of images of another size and whether
    its images are ``grayscale`` (None: unknown)."""

    token: str | None
    width: int
    height: int
    sessions: tuple[str, ...]
    n_images: int = 0
    other_sizes: dict = field(default_factory=dict)
    grayscale: bool | None = None


@dataclass(frozen=True)
class PoseProject:
    """What a starter scene needs from a pose project.

    ``kind`` (``DeepLabCut project``, ``SLEAP labels``, ``Lightning Pose labels``), ``path``, ``task`` (a name
    for the keypoint set), ``names (K,)`` keypoint names in the project's order, ``edges`` (pairs of names),
    ``views``, the labelled rows: ``keypoints (N, K, 2) float64`` (NaN: unlabelled), ``sizes (N, 2)`` (width,
    height of each row's image), ``row_view (N,) int`` (index into ``views``), and ``videos`` (recordings the
    project names, for the next steps).
    """

    kind: str
    path: Path
    task: str
    names: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    views: tuple[ProjectView, ...]
    keypoints: np.ndarray
    sizes: np.ndarray
    row_view: np.ndarray
    videos: tuple[Path, ...] = ()


def read_project(path: str | Path) -> PoseProject:
    """Read a DeepLabCut project (its folder, ``config.yaml`` or one label file), a SLEAP ``.slp`` file or a
    Lightning Pose labels CSV (or its folder).

    Raises:
        ProjectError: no such path, nothing recognisable there, unreadable labels, no keypoint names, no image
            size for a view.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ProjectError(
            f"--like {path}: no such file or folder (expected a DeepLabCut project folder, a SLEAP "
            ".slp file or a Lightning Pose labels CSV)"
        )
    if path.is_file() and path.name == "config.yaml":
        path = path.parent
    if path.suffix.lower() == ".slp":
        return _read_sleap(path)
    if path.is_file():
        if path.suffix.lower() not in (".csv", ".h5"):
            raise ProjectError(
                f"--like {path}: not a project file; allowed: a DeepLabCut project folder or its "
                "config.yaml, a CollectedData_*.h5/.csv label file, a SLEAP .slp file, a Lightning "
                "Pose labels .csv"
            )
        return _read_label_files(path.parent, [path], kind="label file")
    csvs = [p for p in sorted(path.glob("*.csv")) if _is_label_csv(p)]
    if (path / "config.yaml").is_file() or ((path / "labeled-data").is_dir() and not csvs):
        return _read_dlc(path)
    if csvs:  # Lightning Pose: CollectedData.csv (one per view) beside labeled-data/
        return _read_label_files(path, csvs, kind="Lightning Pose labels")
    slp = sorted(path.glob("*.slp"))
    if len(slp) == 1:
        return _read_sleap(slp[0])
    raise ProjectError(
        f"--like {path}: no DeepLabCut project (config.yaml, labeled-data/), SLEAP .slp file or "
        "Lightning Pose labels CSV found there"
    )


def _read_dlc(root: Path) -> PoseProject:
    config = _read_config(root / "config.yaml")
    data = root / "labeled-data"
    folders = sorted(p for p in data.iterdir() if p.is_dir()) if data.is_dir() else []
    files, unlabelled = [], {}
    for folder in folders:
        found = sorted(folder.glob("CollectedData_*.h5")) or sorted(folder.glob("CollectedData_*.csv"))
        if found:
            files.append(found[0])
        else:  # frames extracted but not labelled (yet): their images still say the camera's size
            images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if images:
                unlabelled[folder.name] = images
    names = _config_names(config)
    if not files and not names:
        raise ProjectError(
            f"--like {root}: no labelled frames (labeled-data/<session>/CollectedData_*.h5 or .csv) "
            "and no bodyparts in config.yaml: the project names no keypoints"
        )
    if not files and not unlabelled:
        crops = _config_crops(config)
        if not crops:
            raise ProjectError(
                f"--like {root}: no images in labeled-data/ and no video crop in config.yaml: cannot "
                "tell the camera's image size; extract some frames first"
            )
        views = _group_views({name: [size] for name, size in crops.items()}, {})
        return PoseProject(
            "DeepLabCut project",
            root,
            str(config.get("Task") or root.name),
            tuple(names),
            _config_edges(config, names),
            views,
            np.zeros((0, len(names), 2)),
            np.zeros((0, 2)),
            np.zeros(0, dtype=np.int64),
            _videos(root, config),
        )
    return _read_label_files(root, files, "DeepLabCut project", config, unlabelled, names)


def _read_config(path: Path) -> dict:
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return data if isinstance(data, dict) else {}


def _config_names(config: dict) -> list[str]:
    parts = config.get("bodyparts")
    if parts == "MULTI!" or config.get("multianimalproject"):
        parts = list(config.get("multianimalbodyparts") or []) + list(config.get("uniquebodyparts") or [])
    return [str(p) for p in parts] if isinstance(parts, list) else []


def _config_edges(config: dict, names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    edges = config.get("skeleton") or []
    out = []
    for edge in edges if isinstance(edges, list) else []:
        if isinstance(edge, (list, tuple)) and len(edge) == 2 and all(str(e) in names for e in edge):
            out.append((str(edge[0]), str(edge[1])))
    return tuple(out)


def _config_crops(config: dict) -> dict[str, tuple[int, int]]:
    """``{video stem: (width, height)}`` from config.yaml's ``video_sets`` crops (``x1, x2, y1, y2``)."""
    out = {}
    for video, entry in (config.get("video_sets") or {}).items():
        try:
            x1, x2, y1, y2 = (int(float(v)) for v in str(entry.get("crop", "")).split(","))
        except (AttributeError, ValueError):
            continue
        if x2 > x1 and y2 > y1:
            out[Path(str(video)).stem] = (x2 - x1, y2 - y1)
    return out


def _videos(root: Path, config: dict) -> tuple[Path, ...]:
    found = [p for p in sorted((root / "videos").glob("*")) if p.is_file()] if (root / "videos").is_dir() else []
    for video in config.get("video_sets") or {}:
        if Path(str(video)).is_file() and Path(str(video)) not in found:
            found.append(Path(str(video)))
    return tuple(found)


def _is_label_csv(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = [handle.readline().split(",")[0].strip().lower() for _ in range(3)]
    except OSError:
        return False
    return head[1:3] == ["bodyparts", "coords"] or head[2:3] == ["bodyparts"]


def _read_table(file: Path):
    """One DeepLabCut-layout label table: ``(names, xy (N, K, 2), row keys)`` (the first individual of a
    multi-animal table; :func:`synthmouse.io.labels.read_dlc_table`)."""
    try:
        table = read_dlc_table(file)
    except LabelError as exc:
        raise ProjectError(str(exc)) from None
    return list(table.names), table.xy, list(table.keys)


def _read_label_files(
    root: Path,
    files: Sequence[Path],
    kind: str,
    config: dict | None = None,
    unlabelled: dict[str, list[Path]] | None = None,
    names: Sequence[str] = (),
) -> PoseProject:
    """Label tables in DeepLabCut's layout (``names``: the keypoints when there is none) and the sessions of
    ``unlabelled`` images, as a project."""
    tables = []
    names = [] if files else list(names)
    for file in files:
        table_names, xy, keys = _read_table(file)
        names += [n for n in table_names if n not in names]
        tables.append((file, table_names, xy, keys))
    if not names:
        raise ProjectError(f"{files[0]}: the label table names no keypoints")
    rows_xy, rows_image, rows_session = [], [], []
    several = len(files) > 1 and kind != "DeepLabCut project"  # one label file per view (Lightning Pose)
    for file, table_names, xy, keys in tables:
        order = [table_names.index(n) if n in table_names else -1 for n in names]
        full = np.where(np.array(order)[None, :, None] >= 0, xy[:, np.maximum(order, 0)], np.nan)
        for i, key in enumerate(keys):
            rows_xy.append(full[i])
            rows_image.append(_resolve_image(root, file, key))
            rows_session.append(
                (file.stem.removeprefix("CollectedData").strip("_-") or file.stem)
                if several
                else (file.parent.name if kind == "DeepLabCut project" else _session_of_key(key, file))
            )
    sessions: dict[str, list[Path]] = {}
    for session, image in zip(rows_session, rows_image, strict=True):
        sessions.setdefault(session, []).append(image)
    for session, images in (unlabelled or {}).items():
        sessions.setdefault(session, images)
    sizes_by_image: dict[Path, tuple[int, int]] = {}
    session_sizes: dict[str, list[tuple[int, int]]] = {}
    gray: dict[str, bool | None] = {}
    for session, images in sessions.items():
        existing = [p for p in dict.fromkeys(images) if p.is_file()]
        if not existing:  # the labelled images are elsewhere: other images of their folder
            folder = next((p.parent for p in images if p.parent.is_dir()), None)
            existing = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder else []
        session_sizes[session] = _image_sizes(existing, sizes_by_image)
        if not session_sizes[session]:
            raise ProjectError(
                f"{root}: none of the {len(images)} images of {session!r} was found or readable "
                f"(first: {images[0]}): the camera's image size is unknown; put the images where the "
                "label file expects them"
            )
        gray[session] = _grayscale(existing[:: max(1, len(existing) // 3)][:3])
    views = _group_views(session_sizes, gray)
    view_of = {s: i for i, v in enumerate(views) for s in v.sessions}
    row_sizes = [
        sizes_by_image.get(image, (views[view_of[s]].width, views[view_of[s]].height))
        for s, image in zip(rows_session, rows_image, strict=True)
    ]
    config = config or {}
    task = str(config.get("Task") or (root.name if kind == "DeepLabCut project" else Path(files[0]).stem))
    return PoseProject(
        kind,
        root if kind != "label file" else Path(files[0]),
        task,
        tuple(names),
        _config_edges(config, names),
        views,
        np.asarray(rows_xy, dtype=np.float64).reshape(len(rows_xy), len(names), 2),
        np.asarray(row_sizes, dtype=np.float64).reshape(-1, 2),
        np.array([view_of[s] for s in rows_session], dtype=np.int64),
        _videos(root, config) if kind == "DeepLabCut project" else (),
    )


def _resolve_image(root: Path, file: Path, key: str) -> Path | None:
    rel = Path(key.replace("\\", "/"))
    for candidate in (root / rel, file.parent / rel, file.parent / rel.name):
        if candidate.is_file():
            return candidate
    return file.parent / rel.name


def _session_of_key(key: str, file: Path) -> str:
    parts = Path(key.replace("\\", "/")).parts
    return parts[-2] if len(parts) >= 2 else file.stem


def _image_sizes(paths: Sequence[Path], cache: dict | None = None) -> list[tuple[int, int]]:
    """``(width, height)`` of each readable image (headers only), at most :data:`MAX_HEADERS` evenly spaced."""
    from PIL import Image, UnidentifiedImageError

    paths = list(paths)
    if len(paths) > MAX_HEADERS:
        paths = [paths[int(i)] for i in np.linspace(0, len(paths) - 1, MAX_HEADERS)]
    out = []
    for path in paths:
        try:
            with Image.open(path) as image:
                size = (int(image.size[0]), int(image.size[1]))
        except (OSError, UnidentifiedImageError, ValueError):
            continue
        out.append(size)
        if cache is not None:
            cache[path] = size
    return out


def _camera_token(session: str) -> str | None:
    match = _CAMERA_TOKEN.search(session.lower())
    return re.sub(r"[^a-z0-9]", "", match.group(1)) if match else None


def _grayscale(paths: Sequence[Path]) -> bool | None:
    """Whether the images are grayscale: a one-channel mode, or three equal channels (grayscale content stored
    as RGB, as DeepLabCut extracts infrared frames); None when none decodes."""
    from PIL import Image

    verdicts = []
    for path in paths:
        try:
            with Image.open(path) as image:
                if image.mode in ("1", "L", "LA", "I", "I;16", "F"):
                    verdicts.append(True)
                    continue
                rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
        except (OSError, ValueError):
            continue
        verdicts.append(
            bool(np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 3 and np.abs(rgb[..., 1] - rgb[..., 2]).max() <= 3)
        )
    return all(verdicts) if verdicts else None


def _group_views(sessions: dict[str, list[tuple[int, int]]], gray: dict[str, bool | None]) -> tuple[ProjectView, ...]:
    """Sessions with the same camera token in their names are one view; sessions without one, one view per
    image size (a project's sessions of one camera share its size). ``gray``: grayscale per session."""
    groups: dict[tuple, list[str]] = {}
    for session, sizes in sessions.items():
        token = _camera_token(session)
        size = Counter(sizes).most_common(1)[0][0]
        groups.setdefault(("token", token) if token else ("size", size), []).append(session)
    views = []
    for (kind, value), members in groups.items():
        counts = Counter(s for m in members for s in sessions[m])
        (width, height), _ = counts.most_common(1)[0]
        others = {size: n for size, n in counts.items() if size != (width, height)}
        known = [gray[m] for m in members if gray.get(m) is not None]
        views.append(
            ProjectView(
                value if kind == "token" else None,
                int(width),
                int(height),
                tuple(members),
                sum(counts.values()),
                others,
                all(known) if known else None,
            )
        )
    return tuple(views)


def _read_sleap(path: Path) -> PoseProject:
    try:
        import sleap_io
    except ImportError as exc:  # a dependency; say so anyway
        raise ProjectError(f"{path}: reading SLEAP files needs sleap-io ({exc})") from None
    try:
        labels = sleap_io.load_slp(str(path))
    except Exception as exc:  # sleap-io raises many types for bad files
        raise ProjectError(f"{path}: cannot read this SLEAP labels file ({type(exc).__name__}: {exc})") from None
    if not labels.skeletons:
        raise ProjectError(f"{path}: the SLEAP file has no skeleton: it names no keypoints")
    skeleton = labels.skeletons[0]
    names = tuple(str(n.name) for n in skeleton.nodes)
    edges = tuple((str(e.source.name), str(e.destination.name)) for e in skeleton.edges)
    sessions, gray, rows_xy, rows_session, problems = {}, {}, [], [], []
    for i, video in enumerate(labels.videos):
        session = Path(str(_video_name(video))).stem or f"video{i}"
        if session in sessions:
            session = f"{session}_{i}"
        shape = _video_shape(video)
        if shape is None:
            problems.append(str(_video_name(video)))
            continue
        sessions[session] = [(shape[2], shape[1])]
        gray[session] = shape[3] == 1 if len(shape) >= 4 else None
        for lf in labels.labeled_frames:
            if lf.video is not video or not lf.instances:
                continue
            instance = (getattr(lf, "user_instances", None) or lf.instances)[0]
            rows_xy.append(np.asarray(instance.numpy(), dtype=np.float64)[:, :2])
            rows_session.append(session)
    if not sessions:
        raise ProjectError(
            f"{path}: cannot read the image size of any of its videos ({', '.join(problems)}): "
            "put the videos where the .slp file expects them, or export a package with embedded "
            "images (sleap-io: save_slp(..., embed=True))"
        )
    views = _group_views(sessions, gray)
    view_of = {s: i for i, v in enumerate(views) for s in v.sessions}
    sizes = np.array(
        [[views[view_of[s]].width, views[view_of[s]].height] for s in rows_session], dtype=np.float64
    ).reshape(-1, 2)
    return PoseProject(
        "SLEAP labels",
        path,
        path.stem,
        names,
        edges,
        views,
        np.asarray(rows_xy, dtype=np.float64).reshape(len(rows_xy), len(names), 2),
        sizes,
        np.array([view_of[s] for s in rows_session], dtype=np.int64),
    )


def _video_name(video) -> str:
    filename = getattr(video, "filename", "")
    return filename[0] if isinstance(filename, list) and filename else str(filename)


def _video_shape(video) -> tuple | None:
    """``(frames, height, width, channels)`` of a sleap-io video: opening it, else the shape stored in the file."""
    try:
        shape = video.shape
    except Exception:  # a missing or unreadable video file
        shape = None
    if shape is None:
        shape = (getattr(video, "backend_metadata", None) or {}).get("shape")
    return tuple(int(v) for v in shape) if shape is not None and len(shape) >= 3 else None


# --- keypoint names -> landmarks --------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeypointMatch:
    """``landmarks``: project name -> landmark (or derived landmark) in the project's order; ``notes``: project
    name -> how it was matched (for comments); ``unmatched``: project names no landmark stands for, with why."""

    landmarks: dict[str, str]
    notes: dict[str, str]
    unmatched: dict[str, str]


def split_side(name: str) -> tuple[str | None, str]:
    """``(side, part)`` of a keypoint name, plain (lower case, no separators): ``leftForepaw`` -> ``("left",
    "forepaw")``, ``paw_R`` -> ``("right", "paw")``, ``Hand`` -> ``(None, "hand")``. A one-letter side (``l``,
    ``r``) counts only before or after a known part (:data:`SIDE_VIEW_PARTS`), so ``lick`` has no side."""
    key = _plain(name)
    for word in ("left", "right"):
        if key.startswith(word) and len(key) > len(word):
            return word, key[len(word) :]
        if key.endswith(word) and len(key) > len(word):
            return word, key[: -len(word)]
    for letter, side in (("l", "left"), ("r", "right")):
        if key.startswith(letter) and _known_part(key[1:]):
            return side, key[1:]
        if key.endswith(letter) and _known_part(key[:-1]):
            return side, key[:-1]
    return None, key


def _known_part(part: str) -> bool:
    return any(re.fullmatch(pattern, part) for pattern, _, _ in SIDE_VIEW_PARTS)


def _plain(name: str) -> str:
    return plain(name)


def match_landmarks(names: Sequence[str], view: str = "top", camera_side: str = "left") -> KeypointMatch:
    """Each project keypoint name's body landmark.

    Args:
        names: the project's keypoint names.
        view: ``top`` (a camera above: internal points become the skin above them, :data:`TOP_VIEW_SURFACE`)
            or ``side``.
        camera_side: the animal's side the camera sees (``left``/``right``): the side of names without one
            (``Hand``: the hand the camera sees).

    The shared matcher (:func:`synthmouse.io.mapping.match_keypoints`: the same name, case and
    separators, the table of common DeepLabCut/SLEAP names) goes first, then :data:`SIDE_VIEW_PARTS`. A
    landmark stands for one name (the first).
    """
    landmarks: dict[str, str] = {}
    notes: dict[str, str] = {}
    for real, landmark in match_keypoints(list(names), list(LANDMARKS)):
        landmarks[real] = landmark
        notes[real] = "the same name" if _plain(real) == _plain(landmark) else "a common name for it"
    used = set(landmarks.values())
    unmatched: dict[str, str] = {}
    for name in names:
        if name in landmarks:
            continue
        side, part = split_side(name)
        found = None
        for pattern, target, what in SIDE_VIEW_PARTS:
            match = re.fullmatch(pattern, part)
            if match is None:
                continue
            groups = match.groupdict()
            found = target.format(s=side or camera_side, n=groups.get("n") or "1", j=groups.get("j") or "")
            notes[name] = what
            if "{s}" in target and side is None:
                notes[name] += f"; no side in the name: the {camera_side} one" + (
                    ", which the camera sees" if view == "side" else ""
                )
            if groups.get("n") is None and "digit" in target:
                notes[name] += "; no digit number: digit 1"
            break
        if found is None:
            unmatched[name] = RIG_OBJECT if _RIG_OBJECT_CUES.search(_plain(name)) else "no body landmark by this name"
            notes.pop(name, None)
            continue
        if found in used:
            first = next(n for n, lm in landmarks.items() if lm == found)
            unmatched[name] = f"stands for {found}, as {first} does already"
            notes.pop(name, None)
            continue
        landmarks[name] = found
        used.add(found)
    if view == "top":
        for name, landmark in landmarks.items():
            if landmark in TOP_VIEW_SURFACE:
                landmarks[name] = TOP_VIEW_SURFACE[landmark]
                notes[name] += f"; the skin above {landmark}, which a top camera sees"
    ordered = {n: landmarks[n] for n in names if n in landmarks}
    return KeypointMatch(ordered, {n: notes[n] for n in ordered}, unmatched)


def builtin_set_for(names: Sequence[str]) -> str | None:
    """The built-in keypoint set with exactly these keypoint names (any order), or None."""

    wanted = set(names)
    for set_name, entry in _builtin_data()["sets"].items():
        if set(entry["keypoints"]) == wanted and len(entry["keypoints"]) == len(names):
            return set_name
    return None


def label_hidden_names(match: KeypointMatch) -> list[str]:
    """Keypoints at internal landmarks (:data:`INTERNAL`): labelled where hidden, as human labellers do."""
    return [n for n, lm in match.landmarks.items() if lm in INTERNAL]


# --- the rig guess ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RigGuess:
    """``rig`` (a template name), ``view`` (``top``/``side``), ``head_travel`` (how far head and trunk points
    move across the labelled frames, as a share of the image diagonal; None without such points) and
    ``reasons`` (phrases for the comment and the output)."""

    rig: str
    view: str
    head_travel: float | None
    reasons: tuple[str, ...]


def head_travel(project: PoseProject, match: KeypointMatch) -> float | None:
    """Median over head and trunk keypoints (:data:`AXIAL`) of how far each moves across the labelled frames:
    the larger side of the box holding its 5th..95th percentile positions, over the image diagonal. None with
    fewer than 5 labelled frames of any such keypoint."""
    axial = [project.names.index(n) for n, lm in match.landmarks.items() if lm in AXIAL]
    if not axial or not len(project.keypoints):
        return None
    diag = np.linalg.norm(project.sizes, axis=1)[:, None]
    travels = []
    for k in axial:
        xy = project.keypoints[:, k] / diag
        xy = xy[np.isfinite(xy).all(1)]
        if len(xy) >= 5:
            travels.append(float((np.percentile(xy, 95, axis=0) - np.percentile(xy, 5, axis=0)).max()))
    return float(np.median(travels)) if travels else None


def guess_rig(project: PoseProject) -> RigGuess:
    """The starter rig for the project's view, from its keypoint names and how far the head moves.

    A top view labels both ears (a side camera sees one) or points along the spine; a side view labels hands,
    digits, a tongue, rig objects (a joystick, a lever). A free mouse's head moves over much of the image
    (:data:`FREE_TRAVEL`), a head-fixed one's hardly (:data:`HEAD_FIXED_TRAVEL`). Top and free: ``openfield``;
    head-fixed: ``wheel`` (head bar, side camera); free and side: ``treadmill`` (a side camera along a belt);
    no cue: ``openfield``.
    """
    plains = {n: _plain(n) for n in project.names}
    reasons = []
    sided = [split_side(n) for n in project.names]
    ears = {side for side, part in sided if side and part.startswith("ear")}
    top_names = [n for n, p in plains.items() if _TOP_CUES.search(p) or _TAIL_BASE.search(p)]
    side_names = [n for n, p in plains.items() if _SIDE_CUES.search(p)]
    rig_names = [n for n, p in plains.items() if _RIG_OBJECT_CUES.search(p)]
    top = 2 * (len(ears) == 2) + sum(0.5 if _TAIL_BASE.search(plains[n]) else 1.0 for n in top_names)
    side = len(side_names) + len(rig_names)
    if len(ears) == 2:
        reasons.append("both ears are labelled (a side camera sees one)")
    if top_names:
        reasons.append(f"{', '.join(top_names)} (points a top view labels)")
    if side_names:
        reasons.append(f"{', '.join(side_names)} (hands, digits, tongue: what a side view labels)")
    if rig_names:
        reasons.append(f"{', '.join(rig_names)} (a rig object the mouse works with)")
    travel = head_travel(project, match_landmarks(project.names))
    if travel is not None:
        state = (
            "a free mouse"
            if travel >= FREE_TRAVEL
            else "head-fixed"
            if travel < HEAD_FIXED_TRAVEL
            else "no clear sign either way"
        )
        reasons.append(
            f"the head and trunk points move over {travel:.0%} of the image diagonal across the "
            f"{len(project.keypoints)} labelled frames ({state})"
        )
    view = "side" if side > top else "top" if top > side else None
    free = None if travel is None else True if travel >= FREE_TRAVEL else False if travel < HEAD_FIXED_TRAVEL else None
    if free is None:
        free = None if view is None else view == "top"
    if free is False:
        rig = "wheel"
    elif free and view == "side":
        rig = "treadmill"
    elif free or view == "top":
        rig = "openfield"
    else:
        rig, view = "openfield", "top"
        reasons.append("no cue in the names or the labels: the open field, the most common rig")
    if view is None:
        view = "top" if rig == "openfield" else "side"
    return RigGuess(rig, view, travel, tuple(reasons))


# --- the starter scene -----------------------------------------------------------------------------------------
@dataclass
class LikeResult:
    """A starter scene made from a project: ``scene_text``, the keypoint file (``keypoint_file`` name beside
    the scene and its ``keypoint_text``; None for a built-in set), ``keypoints`` (the value of
    ``body.keypoints``), ``rig``, the ``project``, the ``match``, the ``guess``, ``lines`` for the output and
    the ``cameras``' names (one per project view)."""

    scene_text: str
    keypoint_file: str | None
    keypoint_text: str | None
    keypoints: str
    rig: str
    project: PoseProject
    match: KeypointMatch
    guess: RigGuess
    lines: list[str]
    cameras: list[str] = field(default_factory=list)


def template_text(rig: str) -> str:
    """The starter scene file of ``rig`` (one of :data:`TEMPLATES`)."""
    if rig not in TEMPLATES:
        raise SynthmouseError(f"--rig {rig!r}: no such template; allowed: {', '.join(TEMPLATES)}")
    return resources.files("synthmouse.scene").joinpath("templates", f"{rig}.yaml").read_text(encoding="utf-8")


def scene_like(
    project_path: str | Path, scene_path: str | Path, rig: str | None = None, match_scale: bool = True
) -> LikeResult:
    """A starter scene for ``scene_path`` like the project at ``project_path`` (see the module docstring).

    Args:
        rig: a template (:data:`TEMPLATES`) instead of the guess.
        match_scale: fit the focal length (and the open field's size) to the project's mouse size in pixels
            (builds the scene's body once, about 2 s).

    Raises:
        ProjectError: the project cannot be read, or none of its names matches a body landmark.
        SynthmouseError: a bad ``rig``.
    """
    import yaml

    scene_path = Path(scene_path)
    if rig is not None:
        template_text(rig)  # a bad --rig fails before the project is read
    project = read_project(project_path)
    guess = guess_rig(project)
    chosen = rig or guess.rig
    text = template_text(chosen)
    template = yaml.safe_load(text)
    cams = template["cameras"]
    view = "top" if chosen == "openfield" else "side"
    lines: list[str] = []
    camera_side = "left"
    if view == "side":
        text, camera_side, line = _face_like_project(text, cams[0], project, edit_mapping)
        lines.append(line)
    match = match_landmarks(project.names, view, camera_side)
    if not match.landmarks:
        raise ProjectError(
            f"--like {project.path}: none of the project's keypoints ({', '.join(project.names)}) matches a body "
            f"landmark by name; write a keypoint file that says which landmark each stands for (docs/"
            f"conventions.md, user keypoint files) and set body.keypoints to it"
        )
    builtin = builtin_set_for(project.names)
    if builtin is not None:
        keypoints, keypoint_file, keypoint_text = builtin, None, None
        lines.insert(0, f"keypoints: the project's {', '.join(project.names)} are the built-in set {builtin}")
    else:
        keypoint_file = f"{scene_path.stem}_keypoints.yaml"
        keypoints, keypoint_text = keypoint_file, keypoint_file_text(project, match, chosen, format_value)
        lines.insert(0, f"keypoints: {keypoint_file}: " + ", ".join(f"{n} = {lm}" for n, lm in match.landmarks.items()))
    lines += [] if builtin else unmatched_lines(match, keypoint_file)
    text = edit_mapping(text, ["body"], {"keypoints": keypoints})
    # cameras: one per view, named after the view's token or the template's camera
    names = _camera_names(project.views, [str(c["name"]) for c in cams])
    text = _fit_cameras(text, cams, project.views, names, edit_mapping)
    for view_, name in zip(project.views, names, strict=True):
        others = "".join(f"; {n} of its images are {w} x {h}" for (w, h), n in view_.other_sizes.items())
        gray = {True: ", grayscale", False: ", colour", None: ""}[view_.grayscale]
        lines.append(f"camera {name}: {view_.width} x {view_.height} px{gray}, from {_sessions_text(view_)}{others}")
    guessed = rig is None
    rig_line = (
        f"rig: {chosen} ({'top' if view == 'top' else 'side'} camera), "
        + (f"guessed from the view: {'; '.join(guess.reasons)}" if guessed else "chosen with --rig")
        + ("" if guessed else f" (the guess was {guess.rig}: {'; '.join(guess.reasons)})")
    )
    lines.append(rig_line + "; another rig: --rig " + " | ".join(t for t in TEMPLATES if t != chosen))
    scale_lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="synthmouse_like_") as tmp:
        if match_scale:
            text, scale_lines = _match_scale(
                text, Path(tmp), keypoint_file, keypoint_text, project, match, chosen, names, edit_mapping
            )
        _validate(text, Path(tmp), keypoint_file, keypoint_text, scene_path)
    lines += scale_lines
    text = _insert_header(text, _header(project, lines))
    return LikeResult(text, keypoint_file, keypoint_text, keypoints, chosen, project, match, guess, lines, list(names))


def new_scene_like(
    project_path: str | Path, out: str | Path | None, rig: str | None = None, force: bool = False
) -> list[str]:
    """``synthmouse scene new --like PROJECT``: write the starter scene (and its keypoint file) and return the
    lines to print; without ``out`` the scene's text (only when it needs no keypoint file).

    Raises:
        OutputError: ``out`` or the keypoint file exists (without ``force``), or the scene needs a keypoint file
            and no ``out`` was given.
    """

    if out is None:
        result = scene_like(project_path, Path("scene.yaml"), rig)
        if result.keypoint_file is not None:
            raise OutputError(
                f"--like {project_path}: the project's keypoints need a keypoint file beside the "
                "scene; pass --out FILE (the keypoint file is written next to it)"
            )
        return [result.scene_text.rstrip("\n")]
    out = Path(out)
    result = scene_like(project_path, out, rig)
    targets = [out] + ([out.parent / result.keypoint_file] if result.keypoint_file else [])
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise OutputError(f"{', '.join(existing)}: exists; pass --force to overwrite")
    if result.keypoint_file:
        with atomic_open(out.parent / result.keypoint_file, "w", encoding="utf-8") as handle:
            handle.write(result.keypoint_text)
    with atomic_open(out, "w", encoding="utf-8") as handle:
        handle.write(result.scene_text)
    written = f"wrote {out}" + (f" and {out.parent / result.keypoint_file}" if result.keypoint_file else "")
    return (
        [f"{written} (like the {result.project.kind} {result.project.path})"]
        + [f"  {line}" for line in result.lines]
        + [f"  next: {step}" for step in _next_steps(result, out)]
    )


def unmatched_lines(match: KeypointMatch, keypoint_file: str | None) -> list[str]:
    """What the output says about the project's names that no landmark stands for, and what to do."""
    lines = []
    objects = [n for n, why in match.unmatched.items() if why == RIG_OBJECT]
    if objects:
        lines.append(
            f"not on the mouse: {', '.join(objects)} (points on a rig object: a joystick, lever, spout "
            "...): left out of the keypoint set; report, train and evaluate compare the other keypoints "
            "and skip these"
        )
    for name, why in match.unmatched.items():
        if why != RIG_OBJECT:
            lines.append(
                f"no landmark for {name} ({why}): left out of the keypoint set (report, train and evaluate "
                f"skip it); if it is a point on the mouse, add `{name}: LANDMARK` or a spec such as "
                f"`{name}: {{joint: JOINT, offset: [x, y, z]}}` to {keypoint_file}"
            )
    return lines


def keypoint_file_text(project: PoseProject, match: KeypointMatch, rig: str, format_value) -> str:
    """The keypoint file: the project's names (its order) -> landmarks, edges from the project, the internal
    landmarks labelled where hidden, and the names left out in a comment."""
    lines = [
        f"# Keypoints of the {project.kind} {project.path}, made by `synthmouse scene new --like`: each of the",
        "# project's keypoint names (in its order) and the body landmark it stands for (landmarks and other specs,",
        "# e.g. {joint: NAME, offset: [x, y, z]}: docs/conventions.md and synthmouse.body.keypoint_sets).",
        f"# View: {'top (surface points a camera above sees)' if rig == 'openfield' else 'side'}.",
    ]
    if match.unmatched:
        lines.append("# Not on the body (left out; report, train and evaluate compare the other keypoints; add one")
        lines.append("# here with a spec to label it):")
        lines += [f"#   {name}: {why}" for name, why in match.unmatched.items()]
    lines += [f"name: {format_value(project.task)}", "keypoints:"]
    entries = {name: f"  {format_value(name)}: {landmark}" for name, landmark in match.landmarks.items()}
    width = max(len(e) for e in entries.values()) + 2
    lines += [f"{entry:<{width}}# {match.notes[name]}" for name, entry in entries.items()]
    hidden = label_hidden_names(match)
    lines.append(
        f"label_hidden: {format_value(hidden)}   # internal landmarks: labelled where hidden, as human labellers do"
        if hidden
        else "label_hidden: none   # surface points: labelled where they are seen"
    )
    edges = [e for e in project.edges if e[0] in match.landmarks and e[1] in match.landmarks]
    if edges:
        lines.append("edges:")
        lines += [f"  - {format_value(list(e))}" for e in edges]
    return "\n".join(lines) + "\n"


def _camera_names(views: Sequence[ProjectView], template_names: Sequence[str]) -> list[str]:
    names: list[str] = []
    for i, view in enumerate(views):
        name = view.token or (template_names[i] if i < len(template_names) else f"{template_names[0]}{i + 1}")
        while name in names:
            name = f"{name}_{i + 1}"
        names.append(name)
    return names


def _sessions_text(view: ProjectView) -> str:
    shown = ", ".join(view.sessions[:3]) + (f" and {len(view.sessions) - 3} more" if len(view.sessions) > 3 else "")
    return f"{len(view.sessions)} session{'s' if len(view.sessions) != 1 else ''} ({shown})"


def _fit_cameras(text: str, cams: list[dict], views: Sequence[ProjectView], names: Sequence[str], edit_mapping) -> str:
    """The template's cameras cut or extended to one per view, each renamed and at its view's size with the
    template camera's horizontal field of view."""

    extra = len(views) - len(cams)
    if extra > 0:  # more views than template cameras: copies of the first, for the user to place
        items = find_node(text, ["cameras"]).value
        block = text[_line_start(text, items[0].start_mark.index) : _line_after(text, _node_end(items[0]))]
        first_line, rest = block.split("\n", 1)
        copies = "".join(
            re.sub(
                r"name:.*",
                f"name: __like_{j}__   # like {cams[0]['name']}: place it (synthmouse fit-camera)",
                first_line,
                count=1,
            )
            + "\n"
            + rest
            for j in range(extra)
        )
        at = _line_after(text, _node_end(items[-1]))
        text = text[:at] + copies + text[at:]
        cams = list(cams) + [dict(cams[0], name=f"__like_{j}__") for j in range(extra)]
    elif extra < 0:  # fewer views: the template's other cameras go
        for item in reversed(find_node(text, ["cameras"]).value[len(views) :]):
            text = text[: _line_start(text, item.start_mark.index)] + text[_line_after(text, _node_end(item)) :]
        cams = cams[: len(views)]
    for cam, view, name in zip(cams, views, names, strict=True):
        values: dict = {"name": name, "width": view.width, "height": view.height}
        if "fx" in cam:  # the same horizontal field of view (fov_deg keeps it by itself)
            values["fx"] = round(float(cam["fx"]) * view.width / float(cam["width"]), 1)
            if "fy" in cam:
                values["fy"] = round(float(cam["fy"]) * view.width / float(cam["width"]), 1)
        if view.grayscale is not None and bool(cam.get("grayscale", False)) != view.grayscale:
            values["grayscale"] = view.grayscale
        text = edit_mapping(text, ["cameras", {"name": cam["name"]}], values)
    return text


HEAD = {
    "nose",
    "head_centre",
    "left_eye",
    "right_eye",
    "left_ear_base",
    "right_ear_base",
    "left_ear_tip",
    "right_ear_tip",
}
TAIL = {"tail_root", "tail_middle", "tail_end", "back_rump"}


def nose_side(project: PoseProject, view: int = 0) -> str | None:
    """Where the mouse's head is in the images of ``view`` relative to its tail: ``left``, ``right`` (the median
    over frames with head and tail points labelled, at least 3 % of the image width apart), or None."""
    match = match_landmarks(project.names, "side")
    head = [project.names.index(n) for n, lm in match.landmarks.items() if lm in HEAD]
    tail = [project.names.index(n) for n, lm in match.landmarks.items() if lm in TAIL]
    rows = project.row_view == view
    if not head or not tail or not rows.any():
        return None
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows without head or tail points: NaN, skipped
        x = project.keypoints[rows, :, 0] / project.sizes[rows, :1]
        offset = np.nanmean(x[:, head], axis=1) - np.nanmean(x[:, tail], axis=1)
    offset = offset[np.isfinite(offset)]
    if len(offset) < 3 or abs(float(np.median(offset))) < 0.03:
        return None
    return "right" if np.median(offset) > 0 else "left"


def _face_like_project(text: str, cam: dict, project: PoseProject, edit_mapping) -> tuple[str, str, str]:
    """The template's side camera moved to the animal's other side when the project's mouse faces the other way
    (:func:`nose_side`): ``(text, the side the camera sees, a line for the output)``. A camera on the animal's
    left (``+y``) sees its nose on the image's left."""
    eye = [float(v) for v in cam.get("look_at", {}).get("eye", [0.0, 1.0, 0.0])]
    side = "left" if eye[1] >= 0 else "right"
    facing = nose_side(project)
    name = cam["name"]
    if facing is None:
        return (
            text,
            side,
            (
                f"side: camera {name} sees the animal's {side} side (its nose towards the image's "
                f"{side}); the project has no head and tail points labelled together to tell which "
                "side yours sees; for the other, negate the y of the camera's look_at eye"
            ),
        )
    if facing == side:
        return (
            text,
            side,
            (
                f"side: camera {name} sees the animal's {side} side, as in the project (the nose "
                f"towards the image's {facing})"
            ),
        )
    other = "right" if side == "left" else "left"
    text = edit_mapping(text, ["cameras", {"name": name}, "look_at"], {"eye": [eye[0], -eye[1], eye[2]]})
    start = text.find(f"name: {name}")
    end = text.find("\n", start)
    text = text[:start] + text[start:end].replace(f"animal's {side}", f"animal's {other}") + text[end:]
    return (
        text,
        other,
        (
            f"side: camera {name} moved to the animal's {other} side (look_at eye y {-eye[1]:g}): the "
            f"project's mouse faces the image's {facing}"
        ),
    )


def _node_end(node) -> int:

    return end_index(node)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_after(text: str, index: int) -> int:
    """The start of the line after the one holding ``index`` (the text's end on the last line)."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _write_keypoints(folder: Path, keypoint_file: str | None, keypoint_text: str | None) -> None:
    if keypoint_file is not None:
        (folder / keypoint_file).write_text(keypoint_text, encoding="utf-8")


def _validate(text: str, folder: Path, keypoint_file, keypoint_text, scene_path: Path) -> None:
    """The scene validates (with its keypoint file beside it); a failure here is a bug, named as such."""

    _write_keypoints(folder, keypoint_file, keypoint_text)
    try:
        parse_scene_spec(text, source=scene_path, base_dir=folder)
    except SynthmouseError as exc:
        raise SynthmouseError(
            f"scene new --like made a scene that does not validate (please report it): {exc}"
        ) from None


def _match_scale(
    text,
    folder: Path,
    keypoint_file,
    keypoint_text,
    project: PoseProject,
    match: KeypointMatch,
    rig: str,
    names: Sequence[str],
    edit_mapping,
) -> tuple[str, list[str]]:
    """Focal lengths that give the rest-pose mouse the project's size in pixels (median distance between the
    two head/trunk keypoints farthest apart on the body), and for the open field the arena the top camera
    sees. Views without two such keypoints keep the template's focal length."""

    axial = [n for n, lm in match.landmarks.items() if lm in AXIAL]
    if len(axial) < 2 or not len(project.keypoints):
        return text, [
            "scale: the template's (the project labels fewer than two head or trunk points, e.g. snout "
            "and tail base, to measure the mouse in pixels); fit the camera to a frame of your video "
            "with `synthmouse fit-camera`"
        ]
    _write_keypoints(folder, keypoint_file, keypoint_text)
    try:
        scene = build_scene(parse_scene_spec(text, source=folder / "scene.yaml", base_dir=folder))
    except SynthmouseError:
        return text, ["scale: the template's (the scene could not be built to measure the mouse)"]
    kset = scene.keypoint_set
    rest = scene.body.keypoints(scene.rest_pose(), kset)[0]
    lines = []
    for v, name in enumerate(names):
        camera = scene.camera(name)
        rows = project.keypoints[project.row_view == v]
        pixels = camera.project(rest)
        best = None
        for i, a in enumerate(axial):
            for b in axial[i + 1 :]:
                ka, kb = project.names.index(a), project.names.index(b)
                real = np.linalg.norm(rows[:, ka] - rows[:, kb], axis=1)
                real = real[np.isfinite(real)]
                ia, ib = kset.names.index(a), kset.names.index(b)
                body = float(np.linalg.norm(rest[ia] - rest[ib]))
                if len(real) >= 5 and (best is None or body > best[0]):
                    best = (body, a, b, float(np.median(real)), float(np.linalg.norm(pixels[ia] - pixels[ib])))
        if best is None or best[4] < 1.0:
            lines.append(
                f"scale of camera {name}: the template's (fewer than 5 frames with two head or trunk points labelled)"
            )
            continue
        _, a, b, real_px, synth_px = best
        ratio = float(np.clip(real_px / synth_px, 0.2, 5.0))
        fx = round(float(camera.fx) * ratio, 1)
        with_fov = find_node(text, ["cameras", {"name": name}, "fov_deg"]) is not None
        text = edit_mapping(
            text,
            ["cameras", {"name": name}],
            {"fx": fx},
            remove=["fov_deg"] if with_fov else (),
            note="scene new --like set fx instead",
        )
        line = (
            f"scale of camera {name}: fx {fx:g} px, so that the rest-pose mouse's {a}-{b} distance is the "
            f"project's median {real_px:.0f} px (the template gave {synth_px:.0f} px)"
        )
        if rig == "openfield" and v == 0:
            height = float(camera.position[2])
            size = [round(float(np.clip(0.96 * s * height / fx, 0.1, 5.0)), 2) for s in (camera.width, camera.height)]
            text = edit_mapping(text, ["rig"], {"size": size})
            line += f"; arena {size[0]:g} x {size[1]:g} m, what the camera sees of the floor (set your arena's size)"
        lines.append(line)
    return text, lines


def _header(project: PoseProject, lines: Sequence[str]) -> str:
    """The comment block saying what was taken from the project, ``lines`` wrapped at 116 characters."""
    out = [
        f"# Made by `synthmouse scene new --like {project.path}` ({project.kind}, {len(project.keypoints)} "
        "labelled frames):"
    ]
    for line in lines:
        words = line.split(" ")
        current = "#   "
        for word in words:
            if len(current) + len(word) + 1 > 116 and current.strip() != "#":
                out.append(current.rstrip())
                current = "#     "
            current += word + " "
        out.append(current.rstrip())
    return "\n".join(out) + "\n"


def _insert_header(text: str, header: str) -> str:
    """``header`` after the template's leading comment block."""
    lines = text.split("\n")
    at = 0
    while at < len(lines) and lines[at].startswith("#"):
        at += 1
    return "\n".join(lines[:at]) + ("\n" if at else "") + header + "\n".join(lines[at:])


def _next_steps(result: LikeResult, out: Path) -> list[str]:
    steps = [f"synthmouse scene check {out}"]
    video = next(iter(result.project.videos), None)
    if video is not None:
        steps.append(
            f"synthmouse fit-camera corners.yaml --propose --video {video} --scene {out} (then fit-camera "
            f"and fit-appearance {video} --out appearance/ --scene {out} --camera {result.cameras[0]}: "
            "docs/appearance/README.md)"
        )
    steps.append(
        f"synthmouse generate {out} --frames 1000 --out data/run1; synthmouse report --synthetic data/run1 "
        f"--real {result.project.path} (no --map needed)"
    )
    return steps


__all__ = [
    "LANDMARKS",
    "SIDE_VIEW_PARTS",
    "TEMPLATES",
    "KeypointMatch",
    "LikeResult",
    "PoseProject",
    "ProjectError",
    "ProjectView",
    "RigGuess",
    "builtin_set_for",
    "guess_rig",
    "head_travel",
    "keypoint_file_text",
    "match_landmarks",
    "new_scene_like",
    "nose_side",
    "read_project",
    "scene_like",
    "split_side",
    "template_text",
    "unmatched_lines",
]
