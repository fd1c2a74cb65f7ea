"""Shared fixtures: the ``../shared`` data folder (skip with a reason when absent) and loaded bodies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SYNTHMOUSE_SHARED", REPO.parent / "shared"))
SAM_DIR = SHARED / "assets" / "sam_mouse"
OPENFIELD_DIR = SHARED / "real" / "openfield"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED} (set SYNTHMOUSE_SHARED to its location)")
    return SHARED


@pytest.fixture(scope="session")
def sam_dir() -> Path:
    if not (SAM_DIR / "vertices.txt").is_file():
        pytest.skip(f"SAM model not found at {SAM_DIR} (needs ../shared/assets/sam_mouse)")
    return SAM_DIR


@pytest.fixture(scope="session")
def openfield_dir() -> Path:
    if not (OPENFIELD_DIR / "labeled-data").is_dir():
        pytest.skip(f"open-field dataset not found at {OPENFIELD_DIR} (needs ../shared/real/openfield)")
    return OPENFIELD_DIR


@pytest.fixture(scope="session")
def sam_body(sam_dir):
    from synthmouse.body.sam import load_sam

    return load_sam(sam_dir)


@pytest.fixture(scope="session")
def parametric_body():
    from synthmouse.body.parametric import build_parametric_mouse

    return build_parametric_mouse()


@pytest.fixture(scope="module")
def renderer():
    """A headless GL renderer shared by a test module; skips with the reason when no OpenGL context exists."""
    try:
        from synthmouse.render.gl import GLRenderer, GLUnavailableError
    except ImportError as exc:  # moderngl missing
        pytest.skip(f"moderngl not importable: {exc}")
    try:
        gl = GLRenderer()
    except GLUnavailableError as exc:
        pytest.skip(f"no OpenGL context: {exc}")
    yield gl
    gl.close()
