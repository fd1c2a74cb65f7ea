"""Ctrl-C and exit statuses of the command line: 130 with a message, and a rerun resumes to the same dataset."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from fakes.dataset import tree_digest

FAKE_CLI = Path(__file__).resolve().parents[1] / "fakes" / "integrity_cli.py"
TINY_SCENE = """\
rig: {type: wheel}
cameras:
  - name: side
    width: 64
    height: 48
    fov_deg: 40
    look_at: {eye: [0.02, -0.3, 0.045], target: [0.0, 0.0, 0.018]}
"""


def _fake_cli(*args: str, delay: float = 0.0, **popen) -> subprocess.Popen:
    env = {**os.environ, "FAKE_DELAY": str(delay)}
    return subprocess.Popen(
        [sys.executable, str(FAKE_CLI), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def test_ctrl_c_mid_generate_exits_130_and_a_rerun_resumes_to_the_same_dataset(tmp_path):
    scene = tmp_path / "fake.yaml"
    scene.write_text(TINY_SCENE)
    out = tmp_path / "out"
    args = ["generate", str(scene), "--frames", "24", "--seed", "3", "--out", str(out), "-f", "dlc,coco"]
    reference = tree_digest(_reference(scene, out), skip_state=False)  # what an uninterrupted run writes
    shutil.rmtree(out)

    proc = _fake_cli(*args, delay=0.1)
    rows = out / ".synthmouse" / "rows"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _rows_done(rows) < 4:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert stderr.strip().splitlines()[-1] == "interrupted; rerun to resume"
    assert "Traceback" not in stderr and "dataset complete" not in stdout
    done = _rows_done(rows)
    assert 4 <= done < 24 and not (out / "manifest.json").exists()
    assert not [p for p in out.rglob(".*") if ".tmp" in p.name]  # the frame being written was removed

    rerun = _fake_cli(*args)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    assert f"{24 - done} frames rendered this run" in stdout
    assert tree_digest(out, skip_state=False) == reference


def _rows_done(rows: Path) -> int:
    """Finished frames: row files under their final names (pathlib's ``*`` also matches the hidden temporary
    ``.00000003.<random>.tmp.json`` of the row being written)."""
    return sum(1 for p in rows.glob("*.json") if not p.name.startswith("."))


def _reference(scene: Path, out: Path) -> Path:
    """The dataset ``generate fake.yaml --frames 24 --seed 3 -f dlc,coco`` makes, generated in this process."""
    from fakes.dataset import FakeSource
    from synthmouse.dataset.generation import GenerateOptions, generate
    from synthmouse.dataset.scene_source import scene_hash
    from synthmouse.scene.spec import load_scene_spec

    source = FakeSource(seed=3, scene_hash=scene_hash(load_scene_spec(scene)))
    assert generate(source, out, GenerateOptions(n_frames=24, formats=("dlc", "coco"))).complete
    return out


def _run_cli(monkeypatch, capsys, app, argv) -> tuple[int, str]:
    """Run ``cli.main.run`` on ``app`` in this process; return the exit status and stderr."""
    from synthmouse.cli import main

    monkeypatch.setattr(main, "app", app)
    with pytest.raises(SystemExit) as stop:
        main.run(argv)
    return stop.value.code, capsys.readouterr().err


def _app_with(command, name: str) -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    app.command(name)(command)
    app.command("other")(lambda: None)  # two commands: the name is part of the command line
    return app


def test_ctrl_c_in_a_command_that_does_not_resume_says_interrupted(monkeypatch, capsys):
    def check() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # Python's handler raises KeyboardInterrupt here
        time.sleep(5)

    code, err = _run_cli(monkeypatch, capsys, _app_with(check, "check"), ["check"])
    assert code == 130 and err.strip() == "interrupted"


def test_ctrl_c_in_generate_says_rerun_to_resume(monkeypatch, capsys):
    def generate() -> None:
        raise KeyboardInterrupt

    code, err = _run_cli(monkeypatch, capsys, _app_with(generate, "generate"), ["generate"])
    assert code == 130 and err.strip() == "interrupted; rerun to resume"


def test_exit_codes_of_commands_reach_the_shell(monkeypatch, capsys):
    def fails() -> None:
        raise typer.Exit(3)

    assert _run_cli(monkeypatch, capsys, _app_with(fails, "fails"), ["fails"])[0] == 3
    assert _run_cli(monkeypatch, capsys, _app_with(lambda: None, "ok"), ["ok"])[0] == 0


def test_out_of_memory_is_one_line_with_exit_2(monkeypatch, capsys):
    def huge() -> None:
        raise MemoryError

    code, err = _run_cli(monkeypatch, capsys, _app_with(huge, "huge"), ["huge"])
    assert code == 2 and err.startswith("error: out of memory") and len(err.strip().splitlines()) == 1


def test_resumable_commands_are_named_with_their_group():
    from synthmouse.cli.main import RESUMABLE_COMMANDS, _command_name

    assert _command_name(["--debug", "generate", "s.yaml", "--out", "x"]) == "generate"
    assert _command_name(["motion", "retarget", "side.h5", "--out", "fit.npz"]) == "motion retarget"
    assert _command_name(["scene", "check", "s.yaml"]) == "scene check"
    assert _command_name([]) is None
    assert "motion retarget" in RESUMABLE_COMMANDS and "scene check" not in RESUMABLE_COMMANDS
