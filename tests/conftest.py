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


SLOW_LIMIT_S = 30.0  # a test over this on 2 cores belongs under the `slow` mark (kept out of `make test`)
_too_slow: list[tuple[str, float]] = []


def pytest_runtest_logreport(report):
    """Note unmarked tests whose call took longer than :data:`SLOW_LIMIT_S` (listed at the end, not failed:
    a timing depends on the machine's load)."""
    if report.when == "call" and report.duration > SLOW_LIMIT_S and "slow" not in report.keywords:
        _too_slow.append((report.nodeid, report.duration))


def pytest_terminal_summary(terminalreporter):
    if _too_slow:
        terminalreporter.section(f"tests over {SLOW_LIMIT_S:.0f} s without the slow mark")
        for nodeid, seconds in sorted(_too_slow, key=lambda item: -item[1]):
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}  (mark it @pytest.mark.slow)")
