"""Lightning Pose labels: ``CollectedData_<camera>.csv`` per camera (a view) and ``lp_config.yaml``.

The CSV layout is the DeepLabCut CSV Lightning Pose reads with ``pd.read_csv(path, header=[0, 1, 2],
index_col=0)``: three header rows (scorer, bodyparts, coords), one row per image whose first column is the
image path relative to the dataset folder (Lightning Pose's ``data.data_dir``), e.g.
``labeled-data/synth_top/img00000.png``. Keypoints that are not visible are empty (NaN). With several cameras
the files form a multi-view dataset (Lightning Pose's layout ``labeled-data/<session>_<view>/``, rows aligned
across views with equal image file names, the Anipose ``calibration.toml`` at the root).

Keypoint names. Lightning Pose's horizontal-flip augmentation (``training.imgaug_hflip``) pairs keypoints by
the *suffixes* ``_left`` / ``_right`` and swaps each pair when it flips an image; names without those suffixes
are midline points (flipped, never swapped), and a ``_left`` name without its ``_right`` partner is an error.
synthmouse names put the side first (``left_ear_tip``), so the Lightning Pose files move it to the end
(:func:`lp_keypoint_name`): a ``left`` / ``right`` word anywhere in the name (``left_ear_tip``,
``paw_left_front``, ``left_ear_tip_mirror``) or a leading ``left`` / ``right`` glued to the rest (``leftear``)
is removed and ``_left`` / ``_right`` appended (``ear_tip_left``, ``paw_front_left``, ``ear_tip_mirror_left``,
``ear_left``). Names with no side word are kept. ``lp_config.yaml`` lists the names and the mapping.

``lp_config.yaml`` is a snippet to merge into Lightning Pose's ``config_default.yaml``: ``data.data_dir``,
``video_dir``, ``csv_file`` (one file, or one per view), ``view_names`` (multi-view: in the order aniposelib's
``CameraGroup.load`` reads ``calibration.toml`` -- its ``[cam_N]`` tables sorted by key -- so view ``i`` is
camera ``i`` of the calibration), ``num_keypoints`` (per view), ``keypoint_names``, ``image_resize_dims`` (the
largest sizes Lightning Pose supports that fit the images), ``mirrored_column_matches`` (one camera with
mirrors: the columns of each view of the animal) and ``training.imgaug_hflip`` (true for one camera when every
side keypoint has its partner; Lightning Pose refuses it for multi-view models).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pandas as pd
import yaml

from ..dataset.layout import SCORER
from ..dataset.table import Dataset
from ..fileio import atomic_open
from .dlc import dlc_labels

CONFIG_FILE = "lp_config.yaml"
RESIZE_DIMS = (64, 128, 256, 384, 512)  # image_resize_dims values Lightning Pose supports
SIDES = ("left", "right")
_SIDE_WORD = re.compile(r"(?:^|_)(left|right)(?=_|$)", re.IGNORECASE)
_SIDE_PREFIX = re.compile(r"^(left|right)(?=[a-z0-9])", re.IGNORECASE)


class LightningPoseExporter:
    name = "lp"
    description = "Lightning Pose CSV"

    def missing(self) -> str | None:
        return None

    def export(self, dataset: Dataset) -> list[Path]:
        written = []
        for c, cam in enumerate(dataset.meta.cameras):
            path = dataset.root / f"CollectedData_{cam.name}.csv"
            with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
                lightning_pose_dataframe(dataset, c).to_csv(fh)
            written.append(path)
        path = dataset.root / CONFIG_FILE
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write(lightning_pose_config_text(dataset))
        written.append(path)
        return written


def lp_keypoint_name(name: str) -> str:
    """A keypoint name with its side moved to a ``_left`` / ``_right`` suffix (see the module docstring)."""
    words = _SIDE_WORD.findall(name)
    if len(words) == 1:
        side = words[0].lower()
        if name.endswith(f"_{side}"):
            return name
        rest = _SIDE_WORD.sub("", name, count=1).strip("_")
        return f"{rest}_{side}" if rest else name
    if not words:
        glued = _SIDE_PREFIX.match(name)
        if glued:
            return f"{name[glued.end() :]}_{glued.group(1).lower()}"
    return name


def lp_keypoint_names(bodyparts) -> tuple[tuple[str, ...], bool]:
    """Lightning Pose names of ``bodyparts`` and whether its flip augmentation can swap them consistently.

    Returns the original names when the renaming would make two equal names. The flip is safe when every
    ``_left`` name has its ``_right`` partner (and the reverse) and no other name still holds a side word.
    """
    names = tuple(lp_keypoint_name(n) for n in bodyparts)
    if len(set(names)) != len(names):
        names = tuple(bodyparts)
    present = set(names)
    flip_ok = True
    for n in names:
        side = next((s for s in SIDES if n.endswith(f"_{s}")), None)
        if side is None:
            if _SIDE_WORD.search(n) or _SIDE_PREFIX.match(n):
                flip_ok = False
            continue
        other = SIDES[1 - SIDES.index(side)]
        if f"{n[: -len(side)]}{other}" not in present:
            flip_ok = False
    return names, flip_ok


def lightning_pose_dataframe(dataset: Dataset, camera: int) -> pd.DataFrame:
    """``(N, 2 B)`` float64 table indexed by relative image path over every body part of the scene; the values
    are the DeepLabCut labels (:func:`synthmouse.export.dlc.dlc_labels`: visible keypoints and those the keypoint
    set labels when hidden, inside the image box), NaN elsewhere; the body-part level holds the Lightning Pose
    names (:func:`lp_keypoint_names`)."""
    table = dataset.table
    xy = dlc_labels(dataset)[0][:, camera]
    names, _ = lp_keypoint_names(dataset.meta.bodyparts)
    columns = pd.MultiIndex.from_product([[SCORER], list(names), ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    return pd.DataFrame(xy.reshape(len(xy), -1), index=pd.Index(table.images[camera]), columns=columns)


def calibration_view_order(path: Path) -> list[str] | None:
    """Camera names of an Anipose ``calibration.toml`` in the order aniposelib's ``CameraGroup.load`` gives
    them (top-level tables sorted by key, ``metadata`` left out: ``cam_10`` comes before ``cam_2``); ``None``
    when the file is absent."""
    if not Path(path).is_file():
        return None
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return [str(data[k].get("name", k)) for k in sorted(data) if k != "metadata" and isinstance(data[k], dict)]


def lightning_pose_config(dataset: Dataset) -> dict:
    """The Lightning Pose config snippet of a dataset (see the module docstring)."""
    meta, root = dataset.meta, dataset.root.absolute()
    cameras = [c.name for c in meta.cameras]
    order = calibration_view_order(dataset.layout.calibration)
    if order is None or sorted(order) != sorted(cameras):
        order = cameras
    names, flip_ok = lp_keypoint_names(meta.bodyparts)
    multiview = len(order) > 1
    csv_files = [f"CollectedData_{v}.csv" for v in order]
    data: dict = {
        "data_dir": str(root),
        "video_dir": str(root / "videos"),
        "csv_file": csv_files if multiview else csv_files[0],
    }
    if multiview:
        data["view_names"] = list(order)
    data |= {
        "num_keypoints": len(names),
        "keypoint_names": list(names),
        "image_resize_dims": {
            "height": _resize(min(c.height for c in meta.cameras)),
            "width": _resize(min(c.width for c in meta.cameras)),
        },
        "mirrored_column_matches": None if multiview else mirrored_column_matches(meta),
        "columns_for_singleview_pca": None,
    }
    return {"data": data, "training": {"imgaug_hflip": bool(flip_ok and not multiview)}}


def lightning_pose_config_text(dataset: Dataset) -> str:
    """``lp_config.yaml``: a comment header (images, name mapping) and :func:`lightning_pose_config`."""
    meta = dataset.meta
    config = lightning_pose_config(dataset)
    names = config["data"]["keypoint_names"]
    lines = [
        "# Lightning Pose config snippet written by synthmouse: merge it into Lightning Pose's",
        "# scripts/configs/config_default.yaml (data_dir / video_dir are this folder; change them when it moves).",
        "# Multi-view: view_names and csv_file follow calibration.toml as aniposelib reads it (tables sorted by key).",
        "# images: " + ", ".join(f"{c.name} {c.width} x {c.height} px" for c in meta.cameras),
        "# keypoint names (Lightning Pose <- synthmouse; sides moved to a _left/_right suffix for imgaug_hflip):",
        *(f"#   {lp} <- {orig}" for lp, orig in zip(names, meta.bodyparts, strict=True) if lp != orig),
    ]
    if not config["training"]["imgaug_hflip"]:
        lines.append("# imgaug_hflip is false: multi-view, or a side keypoint without its partner.")
    return "\n".join(lines) + "\n" + yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100)


def _resize(size: int) -> int:
    fitting = [d for d in RESIZE_DIMS if d <= size]
    return fitting[-1] if fitting else RESIZE_DIMS[0]


def mirrored_column_matches(meta) -> list[list[int]] | None:
    """Columns of each view of the animal in a mirrored single-camera dataset: the body parts are the scene's
    keypoints followed by one block per mirror with a common suffix (``nose_mirror``); ``None`` without mirrors."""
    base = list(meta.keypoint_names)
    parts = list(meta.bodyparts)
    k = len(base)
    if k == 0 or len(parts) <= k or len(parts) % k or parts[:k] != base:
        return None
    blocks = []
    for start in range(0, len(parts), k):
        block = parts[start : start + k]
        suffix = block[0][len(base[0]) :]
        if not block[0].startswith(base[0]) or block != [n + suffix for n in base]:
            return None
        blocks.append(list(range(start, start + k)))
    return blocks
