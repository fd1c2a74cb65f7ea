"""Bad input in scene files and the other YAML files users write (issue #12): every case is one clear error line
with exit code 2 from ``synthmouse scene check`` (no traceback, no silent garbage, no runaway memory)."""

from __future__ import annotations

import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

from synthmouse.errors import SceneError, SynthmouseError
from synthmouse.io.yamlio import YamlLimits, compose_yaml, load_yaml

HEAD = """\
rig: {type: openfield}
cameras:
  - {name: c, width: 64, height: 48, fx: 60, look_at: {eye: [0, 0, 1], target: [0, 0, 0]}}
"""


def cli_check(path: Path, capsys, monkeypatch, *options: str) -> tuple[int, str]:
    """``synthmouse scene check --no-build PATH`` through the real entry point: (exit code, stderr)."""
    from synthmouse.cli.main import run

    monkeypatch.setattr(sys, "argv", ["synthmouse", "scene", "check", "--no-build", *options, str(path)])
    with pytest.raises(SystemExit) as info:
        run()
    return info.value.code, capsys.readouterr().err


def one_error_line(path: Path, capsys, monkeypatch) -> str:
    """The one ``error:`` line of a failed check (exit code 2, no traceback)."""
    code, err = cli_check(path, capsys, monkeypatch)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and str(path) in lines[0]
    return lines[0]


def error_lines(path: Path, capsys, monkeypatch) -> list[str]:
    """The problem lines of a failed check: one ``error: FILE, line N: ...`` line, or for several problems a
    head line ``error: N problems ...`` and one line per problem, each naming the file and line."""
    code, err = cli_check(path, capsys, monkeypatch)
    assert code == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: "), err
    if len(lines) == 1:
        return lines
    head = lines[0].removeprefix("error: ")
    assert head == f"{len(lines) - 1} problems in the scene file:", err
    assert all(line.startswith(f"  {path}, line ") for line in lines[1:]), err
    return lines[1:]


def write(tmp_path: Path, text: str | bytes, name: str = "scene.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8, 3), 128, np.uint8))
    return path


# --- tracebacks that became one error line ------------------------------------------------------------------
def test_latin1_scene_file(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, HEAD.encode() + "background: grey   # caf\u00e9\n".encode("latin-1"))
    line = one_error_line(path, capsys, monkeypatch)
    assert "line 4" in line and "not UTF-8" in line and "0xe9" in line and "byte offset" in line


def test_control_character(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, HEAD + 'background: "gr\x01ey"\n')
    line = one_error_line(path, capsys, monkeypatch)
    assert "line 4" in line and "control character U+0001" in line


def test_deep_nesting(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, HEAD + "motion: " + "[" * 20000 + "]" * 20000 + "\n")
    line = one_error_line(path, capsys, monkeypatch)
    assert "line 4" in line and "nested more than 100 levels" in line


def test_huge_camera(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, HEAD.replace("width: 64, height: 48", "width: 16384, height: 16384"))
    width, height = error_lines(path, capsys, monkeypatch)
    assert "line 3: cameras[0].width" in width and "less than or equal to 8192" in width and "16384" in width
    assert "cameras[0].height" in height


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = [f"  l0: &l0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("section", ["motion", "lights"])
def test_alias_bomb_is_refused_early(tmp_path, capsys, monkeypatch, section):
    """9 ** 9 (387 million) values once written out: refused after ~100 000, in milliseconds and kilobytes."""
    if section == "motion":
        text = HEAD + "motion:\n" + alias_bomb()
    else:
        text = HEAD + "lights:\n  - type: ambient\n    extra:\n" + textwrap.indent(alias_bomb(), "    ")
    path = write(tmp_path, text)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(SceneError, match="alias .* makes the document larger than 100000 values"):
        from synthmouse.scene.spec import load_scene_spec

        load_scene_spec(path)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 2.0 and peak < 50e6, (elapsed, peak)
    assert "line" in one_error_line(path, capsys, monkeypatch)


# --- silent garbage that became an error --------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        (
            HEAD.replace("{type: openfield}", "{type: openfield, size: [1e300, 0.45]}"),
            ["line 1", "rig.size", "1e+300 m is outside the allowed range 0.0001..10 m"],
        ),
        (HEAD.replace("fx: 60", "fx: 1e308"), ["line 3", "cameras[0].fx", "1e+308 px", "1..1e+06 px"]),
        (HEAD.replace("fx: 60", "fx: 1.0e5"), ["cameras[0]", "field of view", "0.1..170 degrees"]),
        (
            HEAD + "lights:\n  - {type: ambient, intensity: 1e300}\n",
            ["line 5", "lights[0].intensity", "1e+300", "0..100"],
        ),
        (HEAD.replace("width: 64", "width: true"), ["line 3", "cameras[0].width", "true (a boolean)", "number"]),
        (
            HEAD.replace("{type: openfield}", "{type: openfield, table: 1}"),
            ["line 1", "rig.table", "got 1", "true or false"],
        ),
        (HEAD + "body: {heading_deg: .nan}\n", ["line 4", "body.heading_deg", "not a finite number"]),
        (
            HEAD + "randomization:\n  light.intensity_scale: [0.5, 1e300]\n",
            ["line 5", "randomization.light.intensity_scale", "leaves the allowed 0..100"],
        ),
        (
            HEAD + "randomization:\n  camera: {focal_scale: [true, 1]}\n",
            ["randomization.camera.focal_scale", "boolean"],
        ),
        (HEAD + "background: grey\nbackground: white\n", ["line 5", "duplicate key 'background'", "first on line 4"]),
        (
            HEAD + "motion:\n  generators:\n    - {type: rest, duration: [1, 1e300]}\n",
            ["motion.generators[0].duration", "<= 3600"],
        ),
        (
            HEAD + "motion:\n  generators:\n    - {type: rest, weight: true}\n",
            ["motion.generators[0].weight", "boolean"],
        ),
    ],
)
def test_garbage_values_are_errors(tmp_path, capsys, monkeypatch, text, expected):
    path = write(tmp_path, text)
    code, err = cli_check(path, capsys, monkeypatch)
    assert code == 2 and "Traceback" not in err, err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in {err!r}"


# --- paths ----------------------------------------------------------------------------------------------------
def test_a_texture_must_be_an_image(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, HEAD + "materials:\n  m: {texture: /etc/passwd}\n")
    line = one_error_line(path, capsys, monkeypatch)
    assert "materials.m.texture" in line and "not an image" in line and ".png" in line
    (tmp_path / "fake.png").write_text("not an image")
    path = write(tmp_path, HEAD + "materials:\n  m: {texture: fake.png}\n")
    line = one_error_line(path, capsys, monkeypatch)
    assert "does not hold one" in line


def test_a_mesh_must_be_a_mesh_file_and_a_calibration_a_calibration_file(tmp_path, capsys, monkeypatch):
    (tmp_path / "part.txt").write_text("solid")
    path = write(tmp_path, HEAD.replace("{type: openfield}", "{type: none, meshes: [{file: part.txt}]}"))
    line = one_error_line(path, capsys, monkeypatch)
    assert "rig.meshes[0].file" in line and "not a mesh file" in line and ".stl" in line
    (tmp_path / "calib.txt").write_text("x")
    path = write(tmp_path, "cameras:\n  - {name: c, calibration: calib.txt}\n")
    assert "not a calibration file" in one_error_line(path, capsys, monkeypatch)
    path = write(tmp_path, HEAD + "motion: .\n")
    assert "is a folder" in one_error_line(path, capsys, monkeypatch)


def test_relative_paths_may_not_leave_the_scene_folder(tmp_path, capsys, monkeypatch):
    image = png(tmp_path / "shared" / "floor.png")
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    path = write(scenes, HEAD + "materials:\n  m: {texture: ../shared/floor.png}\n")
    line = one_error_line(path, capsys, monkeypatch)
    assert "leads outside the scene's folder" in line and f"write the absolute path {image}" in line
    path = write(scenes, HEAD + f"materials:\n  m: {{texture: {image}}}\n")  # absolute: allowed
    assert cli_check(path, capsys, monkeypatch)[0] == 0
    path = write(scenes, HEAD + "external_folders: [../shared]\nmaterials:\n  m: {texture: ../shared/floor.png}\n")
    assert cli_check(path, capsys, monkeypatch)[0] == 0
    path = write(scenes, HEAD + "external_folders: [../nowhere]\n")
    line = one_error_line(path, capsys, monkeypatch)
    assert "external_folders" in line and "not an existing folder" in line


# --- the loader itself ----------------------------------------------------------------------------------------
def test_exponents_without_a_dot_are_numbers(tmp_path):
    """``1e3`` is 1000 (YAML 1.2); PyYAML's YAML 1.1 would make it the text '1e3'."""
    from synthmouse.scene.spec import load_scene_spec

    spec = load_scene_spec(write(tmp_path, HEAD.replace("fx: 60", "fx: 6e1") + "seed: 1e3\n"))
    assert spec.cameras[0].fx == 60.0 and spec.seed == 1000


def test_loader_reads_plain_yaml_as_before():
    text = "a: 1\nb: [1.5, -2e-3, .inf, 0x10]\nc: {d: true, e: null, f: 2020-01-02}\ng: &g {h: 1}\ni: {<<: *g, h: 2}\n"
    data = load_yaml(text)
    assert data == {
        "a": 1,
        "b": [1.5, -0.002, float("inf"), 16],
        "c": {"d": True, "e": None, "f": "2020-01-02"},
        "g": {"h": 1},
        "i": {"h": 2},
    }
    data, node = compose_yaml("x:\n  y: 3\n")
    assert data == {"x": {"y": 3}} and node.value[0][1].value[0][0].start_mark.line == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: &a [*a]\n", "recursive structure"),
        ("a: !!int x\n", "cannot read 'x' as !!int"),
        ("a: !!bool maybe\n", "cannot read 'maybe' as !!bool"),
        ("a: !!python/object:os.system x\n", "could not determine a constructor"),
        ("a: " + "9" * 5000 + "\n", "5000 digits"),
        ("a: 1\n---\nb: 2\n", "line 2"),
        ("a: {b: 1\n", "line 2"),
        ("a: *nope\n", "undefined alias"),
        ("? [a]\n: 1\n", "unhashable"),
        ("a: 1\nb:\n  c: 1\n  c: 2\n", "duplicate key 'c' (first on line 3, again on line 4)"),
    ],
)
def test_loader_errors_are_one_line(text, expected):
    with pytest.raises(SynthmouseError) as info:
        load_yaml(text, "f.yaml")
    message = str(info.value)
    assert expected in message and "\n" not in message and message.startswith("f.yaml")


def test_loader_limits_are_parameters(tmp_path):
    with pytest.raises(SynthmouseError, match="more than 10 values"):
        load_yaml("[" + ", ".join(["1"] * 20) + "]", limits=YamlLimits(max_nodes=10))
    with pytest.raises(SynthmouseError, match="nested more than 3 levels"):
        load_yaml("[[[[1]]]]", limits=YamlLimits(max_depth=3))
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100)
    with pytest.raises(SceneError, match="larger than 50 bytes"):
        load_yaml(path, error=SceneError, limits=YamlLimits(max_bytes=50))
    with pytest.raises(SceneError, match="not a regular file"):
        load_yaml(tmp_path, error=SceneError)


def test_motion_mix_file_uses_the_safe_loader(tmp_path, capsys, monkeypatch):
    write(tmp_path, "generators:\n  - {type: rest}\n  - {type: rest}\ngenerators: []\n", "mix.yaml")
    path = write(tmp_path, HEAD + "motion: mix.yaml\n")
    line = one_error_line(path, capsys, monkeypatch)
    assert "line 4: motion: mix file" in line and "duplicate key 'generators'" in line


def test_outputs_scaling_keeps_every_camera_within_the_image_size_bounds(tmp_path, capsys, monkeypatch):
    tall = "  - {name: tall, width: 16, height: 4096, fov_deg: 1, look_at: {eye: [0, 0, 1], target: [0, 0, 0]}}\n"
    text = HEAD + tall
    path = write(tmp_path, text + "outputs: {width: 640}\n")
    line = one_error_line(path, capsys, monkeypatch)
    assert "line 5: outputs.width: 640 scales camera 'tall'" in line and "640x163840 px" in line
    assert "16..8192" in line
