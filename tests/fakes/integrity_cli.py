"""TEST DOUBLE: the real ``synthmouse`` entry point (``cli.main.run``) whose scene source is the fake one.

``python tests/fakes/integrity_cli.py generate fake.yaml --frames N --out DIR ...`` runs the real ``generate``
command (option parsing, folder checks, progress, finalize, exit status and messages) with
:class:`fakes.dataset.FakeSource` instead of the GL renderer, so interrupt tests run in seconds. The scene
file must be named ``fake.yaml`` (the fake source's scene name); ``FAKE_DELAY`` sets seconds per frame.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the fakes package

import synthmouse.dataset.scene_source as scene_source  # noqa: E402
from fakes.dataset import FakeSource  # noqa: E402
from synthmouse.cli.main import run  # noqa: E402


def fake_source(spec, name, seed):
    return FakeSource(
        seed=seed, delay=float(os.environ.get("FAKE_DELAY", "0")), scene_hash=scene_source.scene_hash(spec)
    )


scene_source.source_from_spec = fake_source

if __name__ == "__main__":
    run()
