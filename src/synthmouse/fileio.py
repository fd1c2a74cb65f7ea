"""Atomic file writing: nothing is ever left half-written under its final name."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO


def _process_umask() -> int:
    """The process umask (read once at import; ``os.umask`` can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_process_umask()  # what open() would give a new file; mkstemp alone gives 0o600


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path`` with ``os.replace``.

    The temporary file keeps the final suffix (so libraries that dispatch on the extension work) and is removed
    if the block raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = tmp = None
    try:  # everything after the file exists runs inside the try: a Ctrl-C at any point removes it
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.fchmod(fd, _FILE_MODE)
        os.close(fd)
        fd = None
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing; rename it to ``path`` when the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def final_name(path: str | Path) -> Path:
    """The final path of a temporary file made by :func:`atomic_path` (``.<stem>.<random>.tmp<suffix>`` ->
    ``<stem><suffix>``, same folder); any other path is returned unchanged."""
    path = Path(path)
    match = _TEMPORARY.fullmatch(path.name)
    return path.with_name(match["stem"] + match["suffix"]) if match else path


_TEMPORARY = re.compile(r"\.(?P<stem>.+)\.[^.]+\.tmp(?P<suffix>.*)")
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# HDF5 (h5py, PyTables) report a failed write(2) inside the message of a RuntimeError (sometimes an OSError
# without filename): "... (file write failed: time = ..., filename = '/x/y.nwb', ..., errno = 28, error message
# = 'No space left on device', ...)"
_HDF5_WRITE = re.compile(r"write failed|can't write|unable to write|no space left|disk quota", re.IGNORECASE)
_HDF5_ERRNO = re.compile(r"errno = (\d+)")
_HDF5_FILE = re.compile(r"filename = '([^']*)'")
_HDF5_REASON = re.compile(r"error message = '([^']*)'")


@dataclass(frozen=True)
class WriteFailure:
    """What a failed file write was: ``disk_full`` (no space or quota left), the file (its final name, when
    known) and the system's reason."""

    disk_full: bool
    path: Path | None
    reason: str


def write_failure(exc: BaseException) -> WriteFailure | None:
    """Classify an exception raised while writing files, or ``None`` when it is not a write failure.

    Recognizes an ``OSError`` (its ``errno``) and the ``RuntimeError``/``OSError`` of HDF5 libraries (h5py,
    PyTables, pynwb through hdmf) whose message reports a failed write; the chain of causes is searched too, as
    libraries wrap these. The path of a temporary file (:func:`atomic_path`) is given as its final name.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        hdf5 = isinstance(exc, (OSError, RuntimeError)) and _HDF5_WRITE.search(text)
        if isinstance(exc, OSError) and (exc.errno is not None or exc.filename) or hdf5:
            code = exc.errno if isinstance(exc, OSError) else None
            if (found := _HDF5_ERRNO.search(text)) is not None:
                code = int(found[1])
            name = exc.filename if isinstance(exc, OSError) and exc.filename else None
            if name is None and (found := _HDF5_FILE.search(text)) is not None:
                name = found[1]
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror and not hdf5 else None
            if reason is None and (found := _HDF5_REASON.search(text)) is not None:
                reason = found[1]
            disk_full = code in DISK_FULL_ERRNOS or bool(re.search("no space left|quota", text, re.IGNORECASE))
            if reason is None:
                reason = os.strerror(code) if code else text.splitlines()[0] if text else type(exc).__name__
            return WriteFailure(disk_full, final_name(name) if name else None, reason)
        exc = exc.__cause__ or exc.__context__
    return None
