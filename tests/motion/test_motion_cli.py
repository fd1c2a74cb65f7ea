"""``synthmouse motion`` commands: validate, sample, preview."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from synthmouse.cli.main import app

MIX = """\
block_seconds: 4
generators:
  - {type: rest, weight: 1, duration: [1, 2]}
  - {type: scan, weight: 1, duration: [1, 2]}
"""


def test_validate_sample_preview(tmp_path, sam_dir):
    mix = tmp_path / "mix.yaml"
    mix.write_text(MIX)
    runner = CliRunner()
    result = runner.invoke(app, ["motion", "validate", str(mix)])
    assert result.exit_code == 0, result.output
    assert "rest" in result.output and "scan" in result.output

    out = tmp_path / "poses.npz"
    result = runner.invoke(
        app, ["motion", "sample", str(mix), "--out", str(out), "--frames", "20", "--model", str(sam_dir), "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    data = np.load(out)
    assert data["angles"].shape == (20, 141, 3) and data["root"].shape == (20, 4, 4)  # SAM + tongue_pivot
    assert set(data["name"].tolist()) <= {"rest", "scan"}

    sheet = tmp_path / "sheet.png"
    result = runner.invoke(
        app,
        [
            "motion",
            "preview",
            str(mix),
            "--out",
            str(sheet),
            "--seconds",
            "1",
            "--panels",
            "3",
            "--model",
            str(sam_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validate_reports_bad_field(tmp_path):
    mix = tmp_path / "bad.yaml"
    mix.write_text("generators:\n  - {type: rest, crouch: 3}\n")
    from synthmouse.errors import SceneError

    result = CliRunner().invoke(app, ["motion", "validate", str(mix)])
    assert result.exit_code != 0
    assert isinstance(result.exception, SceneError)
    message = str(result.exception)
    assert f"{mix}, line 2: generators[0].crouch: Input should be less than or equal to 1 (got 3)" in message
