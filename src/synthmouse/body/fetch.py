"""Download body models into the user cache, pinned to a source commit and checked against sha256 digests.

SAM's plain-text export is published in the MAMMAL repository (An et al. 2023,
github.com/anl13/MAMMAL_mouse): ``mouse_model/mouse_txt/*.txt`` and ``mouse_model/keypoint22_mapper.json``.
The names of the 22 mapper keypoints are not a file there (they are a list in MAMMAL's ``mouse_22_defs.py``),
so ``keypoint22_names.txt`` is written from :data:`MOUSE22_NAMES` and checked against its digest like the
downloaded files.

A mirror (``base_url``) serves the files flat, under the names of :data:`synthmouse.body.sam.SAM_FILES`, as
a SAM folder does (``BASE/vertices.txt`` ...). Only the standard library's ``urllib`` is used.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..errors import FetchError
from ..fileio import atomic_open, sha256_of

CACHE_ENV = "SYNTHMOUSE_CACHE_DIR"  # overrides the platform cache folder (e.g. for CI)

# Commit of anl13/MAMMAL_mouse whose files match the digests below (the published SAM export; file sizes and
# contents checked against ../shared/assets/sam_mouse, which is a copy of them).
SAM_COMMIT = "22a84ee03092a2666fc39ac9a1210f998f6f6071"
SAM_BASE_URL = f"https://raw.githubusercontent.com/anl13/MAMMAL_mouse/{SAM_COMMIT}/mouse_model"

# local name -> (path under SAM_BASE_URL or None when written locally, sha256)
SAM_SOURCES: dict[str, tuple[str | None, str]] = {
    "vertices.txt": (
        "mouse_txt/vertices.txt",
        "681d4f85ff34b697a1d46d6acbf573b2470c1b54cb15bf140c0a47f95b841675",
    ),
    "faces_vert.txt": (
        "mouse_txt/faces_vert.txt",
        "99624648bc127b396de0273903646233e8b0b872866afec6d86fe1aff3f460e2",
    ),
    "textures.txt": (
        "mouse_txt/textures.txt",
        "ad544869ab6c5217e6eff12ac098e16c6a6b2df1d22fc0915ff6dc5c971d3ab4",
    ),
    "faces_tex.txt": (
        "mouse_txt/faces_tex.txt",
        "f58823473b5042441a37f24ae2fc3ec34fddad1a8485aff53c88b441815e726b",
    ),
    "joint_names.txt": (
        "mouse_txt/joint_names.txt",
        "c12f39ac5e683545a9af3563215c6f1bd4b58a798e349db80782bac9dcc19c24",
    ),
    "parents.txt": (
        "mouse_txt/parents.txt",
        "0666484b0df320529ef0ed31d30b3d49414b18bf1e354de6d35ffb2f2558724c",
    ),
    "t_pose_joints.txt": (
        "mouse_txt/t_pose_joints.txt",
        "c397c691f1f85f4e7811a017bfbcc7a28883ddcdf86f6487c602f1d10bd498ad",
    ),
    "skinning_weights.txt": (
        "mouse_txt/skinning_weights.txt",
        "2859b3997f31b5a3bc9fdc0ad863f04dafce42202bb8a6f37eb7f8cf6464849e",
    ),
    "keypoint22_mapper.json": (
        "keypoint22_mapper.json",
        "9c3f9057c4ec8d7e3d0cc611676bc0807be5059d10b43eca3a2cd3c8bdd692ac",
    ),
    "keypoint22_names.txt": (None, "e2803be6b23e3997e53d99100f7bc472ab19c5ab9ece48519c7620977e303539"),
}

# MAMMAL's mouse-22 keypoint names (mouse_22_defs.py), in mapper order.
MOUSE22_NAMES = (
    "left_ear_tip",
    "right_ear_tip",
    "nose",
    "neck",
    "body_middle",
    "tail_root",
    "tail_middle",
    "tail_end",
    "left_paw",
    "left_paw_end",
    "left_elbow",
    "left_shoulder",
    "right_paw",
    "right_paw_end",
    "right_elbow",
    "right_shoulder",
    "left_foot",
    "left_knee",
    "left_hip",
    "right_foot",
    "right_knee",
    "right_hip",
)

MODELS = ("sam",)


def cache_root() -> Path:
    """The synthmouse cache folder: ``$SYNTHMOUSE_CACHE_DIR`` if set, else the platform's user cache."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("synthmouse", appauthor=False))


def cached_model_dir(name: str) -> Path:
    """Where ``synthmouse model fetch NAME`` puts a model (``<cache>/models/NAME``); it may not exist yet."""
    return cache_root() / "models" / name


def fetch_model(
    name: str = "sam",
    base_url: str | None = None,
    dest: str | Path | None = None,
    timeout: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Download a model's files into ``dest`` (default :func:`cached_model_dir`) and return that folder.

    Files already present with the right sha256 are kept; every downloaded file is checked before it is moved
    to its final name (atomically), so an interrupted or corrupted download never leaves a bad file behind.

    Raises:
        FetchError: unknown model; a URL that cannot be reached (naming it and the ``--model PATH``
            alternative); a checksum mismatch (naming the file, the expected and the received digest).
    """
    if name not in MODELS:
        raise FetchError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")
    folder = Path(dest) if dest is not None else cached_model_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda message: None)
    for filename, (remote, digest) in SAM_SOURCES.items():
        target = folder / filename
        if target.is_file() and sha256_of(target) == digest:
            say(f"{filename}: present, checksum ok")
            continue
        if remote is None:
            payload = ("\n".join(MOUSE22_NAMES) + "\n").encode()
            source = "MOUSE22_NAMES (MAMMAL mouse_22_defs.py)"
        else:
            source = f"{base_url.rstrip('/')}/{filename}" if base_url else f"{SAM_BASE_URL}/{remote}"
            payload = _download(source, timeout)
        _write_checked(target, payload, digest, source)
        say(f"{filename}: {len(payload)} bytes from {source}")
    return folder


def _download(url: str, timeout: float) -> bytes:
    """The body of ``url``; raises :class:`FetchError` naming the URL and the offline alternative."""
    alternative = (
        "download the SAM text files by hand (github.com/anl13/MAMMAL_mouse, mouse_model/) and pass "
        "`--model PATH` with their folder, or `synthmouse model fetch sam --url MIRROR`"
    )
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) URLs by design
            return response.read()
    except urllib.error.HTTPError as exc:
        raise FetchError(f"could not download {url}: HTTP {exc.code} {exc.reason}; {alternative}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"could not download {url}: {reason}; {alternative}") from None


def _write_checked(target: Path, payload: bytes, digest: str, source: str) -> None:
    got = hashlib.sha256(payload).hexdigest()
    if got != digest:
        raise FetchError(
            f"checksum mismatch for {target.name} (from {source}): expected sha256 {digest}, got {got}; "
            "the file was not saved"
        )
    with atomic_open(target, "wb") as handle:
        handle.write(payload)
