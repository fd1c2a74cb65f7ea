"""One exception family for everything a user can get wrong.

Every message names the file, the field or line, the bad value and what is allowed, so the CLI can print it
without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class SynthmouseError(Exception):
    """Base class of all errors raised for bad input or a failed operation."""


class ModelFormatError(SynthmouseError):
    """A body model file is malformed or inconsistent."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}")


class PoseError(SynthmouseError):
    """A pose is malformed or outside the joint limits."""


class KeypointError(SynthmouseError):
    """A keypoint set or keypoint definition is unknown or invalid."""


class SceneError(SynthmouseError):
    """A scene file is invalid."""


class FetchError(SynthmouseError):
    """A model download failed or did not match its checksum."""


class OutputError(SynthmouseError):
    """An output location cannot be written, or holds something else."""


class RenderError(SynthmouseError):
    """A frame cannot be rendered as asked (a camera beyond the OpenGL limits or the memory at hand)."""


class DatasetDamagedError(OutputError):
    """A finished dataset's files no longer match its manifest (missing, truncated or changed files)."""
