"""The identity of a dataset run, and the checks that keep one output folder to one dataset.

A dataset is a function of (scene, seed, frame count, image encoding, package version, dataset format
version): those values are its *identity*, recorded in ``.synthmouse/state.json`` when a folder is first used.
Rerunning the same command on the folder resumes it; any other identity is refused with a message naming the
differing values.

:data:`DATASET_FORMAT_VERSION` numbers the bytes a dataset is made of (file layout, label files, splits, image
encoding). It goes up whenever a change makes a dataset's files differ from those of the previous format, so a
folder begun by another format is never resumed or merged into a mix of the two (the package version alone does
not tell: development builds keep theirs while formats change).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import OutputError
from ..fileio import atomic_open
from .layout import STATE_DIR, DatasetLayout
from .meta import DatasetMeta

STATE_VERSION = 1
DATASET_FORMAT_VERSION = 2  # 1: up to synthmouse 0.1 (state.json without format_version); 2: issue #12 exports


@dataclass(frozen=True)
class RunIdentity:
    """The values a dataset's content depends on; two runs with equal identities make identical files."""

    synthmouse_version: str
    scene_name: str
    scene_hash: str
    seed: int
    n_frames: int
    image_format: str
    jpeg_quality: int
    format_version: int = 1  # what a state.json written before the field existed means

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def differences(self, other: RunIdentity) -> list[str]:
        """Human-readable ``field: ours != theirs`` for every differing field."""
        mine, theirs = asdict(self), asdict(other)
        return [f"{k}: {theirs[k]!r} in the folder, {mine[k]!r} now" for k in mine if mine[k] != theirs[k]]


def read_state(layout: DatasetLayout) -> tuple[RunIdentity, DatasetMeta] | None:
    """The identity and metadata recorded in a dataset folder, or ``None`` when the folder has none."""
    path = layout.state_file
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunIdentity(**data["identity"]), DatasetMeta.from_json(data["meta"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise OutputError(f"{path}: unreadable dataset state ({exc}); this folder cannot be resumed") from exc


def write_state(layout: DatasetLayout, identity: RunIdentity, meta: DatasetMeta) -> None:
    data = {"version": STATE_VERSION, "identity": identity.to_json(), "meta": meta.to_json()}
    with atomic_open(layout.state_file, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)


def check_output_folder(root: Path, identity: RunIdentity) -> bool:
    """Check that ``root`` can hold this dataset, creating nothing.

    Returns ``True`` when the folder already holds this same dataset (a resume), ``False`` when it is new or
    empty. Raises :class:`OutputError` when it is a file, not writable, not empty with something else, or
    holds another dataset (the message lists the differing identity values).
    """
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: the output path is a file; give a folder (new, empty or a dataset to resume)")
    if not root.exists():
        parent = _existing_parent(root)
        _check_writable(parent, f"{root}: cannot create the output folder, {parent} is not writable")
        return False
    _check_writable(root, f"{root}: the output folder is not writable")
    layout = DatasetLayout(root, identity.n_frames)
    state = read_state(layout)
    if state is None:
        others = sorted(p.name for p in root.iterdir() if p.name != STATE_DIR)
        if others:
            shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
            raise OutputError(
                f"{root}: the output folder is not empty and holds no synthmouse dataset ({shown}); "
                "give a new or empty folder"
            )
        return False
    theirs, _ = state
    if theirs.format_version != identity.format_version:
        raise OutputError(
            f"{root}: the folder holds a dataset of format version {theirs.format_version} (synthmouse "
            f"{theirs.synthmouse_version}); this synthmouse writes format {identity.format_version}, whose files "
            "differ, so it cannot resume or merge it: give a new or empty folder, or delete this one and "
            "generate it again"
        )
    diffs = identity.differences(theirs)
    if diffs:
        raise OutputError(
            f"{root}: the folder holds another dataset ({'; '.join(diffs)}); give a new or empty folder, or "
            "rerun with the same scene, seed, frame count and image settings to resume it"
        )
    return True


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    return parent


def _check_writable(folder: Path, message: str) -> None:
    """Raise :class:`OutputError` unless a file can really be created in ``folder`` (``os.access`` lies as
    root)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".synthmouse-probe-", dir=folder)
    except OSError as exc:
        reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror
        raise OutputError(f"{message} ({reason})") from exc
    os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
