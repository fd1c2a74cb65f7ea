"""Fuzzing scene files (issue #12): seeded mutations of valid scenes (key deletions, type swaps, huge, tiny and NaN
numbers, aliases and alias bombs, deep nesting, encodings, control characters, truncation, duplicate keys, bad
paths) must each give a valid scene or one ``SceneError`` (one line per problem, naming the file), never another
exception, within a time and memory bound.

The default run validates ~200 mutations through :func:`synthmouse.scene.spec.load_scene_spec` (as ``synthmouse
scene check --no-build`` does, motion section included) and a handful through the real command in a subprocess;
``pytest -m slow`` runs 3000 more.
"""

from __future__ import annotations

import copy
import math
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from synthmouse.errors import SceneError
from synthmouse.scene.spec import load_scene_spec, motion_mix

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "src" / "synthmouse" / "scene" / "templates"

RICH = """\
seed: 3
body: {model: parametric, keypoints: mouse22, fur: agouti, length: 0.1, position: [0.01, 0, 0], heading_deg: 10}
rig:
  type: none
  floor_material: my_floor
  floor_size: [0.5, 0.4]
  meshes:
    - {file: part.stl, scale: 0.001, position: [0, 0.1, 0], rotation_deg: [0, 0, 90], material: steel}
materials:
  my_floor: {base: floor_white, texture: floor.png, tile_size: 0.2, roughness: 0.8}
cameras:
  - name: top
    width: 320
    height: 240
    fx: 300
    cx: 160
    distortion: {k1: -0.1}
    look_at: {eye: [0, 0, 0.6], target: [0, 0, 0]}
  - name: side
    width: 320
    height: 240
    fov_deg: 40
    rotation: {rvec: [1.5707963, 0, 0]}
    translation: [0, 0.05, 0.5]
mirrors:
  - name: back
    corners: [[-0.15, 0.1, 0.0], [0.15, 0.1, 0.0], [0.15, 0.1, 0.12], [-0.15, 0.1, 0.12]]
    normal: [0, -1, 0]
lights:
  - {type: ambient, colour: white, intensity: 0.35}
  - {type: spot, colour: "#fff8ee", intensity: 0.85, position: [0.15, -0.1, 1.0], cone_deg: 45, shadows: true}
  - {type: point, colour: [0.9, 0.9, 1.0], intensity: 0.3, position: [0.2, 0.25, 0.25]}
background: "#202022"
motion:
  fps: 30
  generators:
    - {type: locomotion, name: walk, gait: walk, weight: 3, duration: [2, 4], speed: 0.12}
    - {type: rear, duration: [1.5, 3], pitch: 50}
    - {type: rest, weight: 0.5, duration: [2, 4], crouch: 0.3}
randomization:
  light: {azimuth_deg: [0, 360], elevation_deg: [45, 85], intensity_scale: [0.7, 1.3]}
  camera.focal_scale: [0.98, 1.02]
  body.fur_albedo_scale: [0.8, 1.2]
outputs: {format: jpg, jpeg_quality: 90, ground_truth: [keypoints, mask], visibility_tolerance: 0.004}
"""

POOL = [
    True,
    False,
    None,
    "",
    "x",
    "/etc/passwd",
    "../../etc/passwd",
    ".",
    0,
    -1,
    1,
    3,
    16384,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    1e-308,
    float("nan"),
    float("inf"),
    float("-inf"),
    0.5,
    [],
    [1],
    [1, 2, 3],
    [0.5, 0.5],
    [True, 1],
    [float("nan"), 1.0],
    {},
    {"a": 1},
    {"type": "wheel"},
    "#fff",
    "1e3",
    "true",
]
TOKENS = [
    "&a ",
    "*a",
    "*zz",
    "!!python/object:os.system ",
    "!!int ",
    "<<: *a\n",
    "? ",
    "---\n",
    "%YAML 1.1\n",
    "{",
    "[",
    "]",
    "}",
    ": ",
    "- ",
    "\t",
    "'",
    '"',
    "|\n",
    ">\n",
    "#",
    "@",
    "`",
    "\\",
    "\ufeff",
    "\u2028",
]


def bases() -> list[str]:
    return [RICH] + [p.read_text(encoding="utf-8") for p in sorted(TEMPLATES.glob("*.yaml"))]


def _paths(node, prefix=()):
    """Every (path, value) below ``node`` (mapping keys and list indices)."""
    out = [(prefix, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _set(root, path, value):
    parent = root
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value


def _delete(root, path):
    parent = root
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]


def alias_bomb(levels: int, width: int) -> str:
    lines = [f"  b0: &b0 [{', '.join(['1'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"  b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def mutate(rng: random.Random, text: str) -> tuple[str, bytes]:
    """One random mutation of a valid scene's text: ``(description, file bytes)``."""
    data = yaml.safe_load(text)
    kind = rng.choice(
        [
            "delete",
            "swap",
            "swap",
            "swap",
            "add_key",
            "copy",
            "wrap",
            "several",
            "text_token",
            "control",
            "encoding",
            "truncate",
            "flip",
            "duplicate_key",
            "alias",
            "alias_bomb",
            "deep",
        ]
    )
    nodes = [p for p in _paths(data) if p[0]]
    if kind in ("delete", "swap", "add_key", "copy", "wrap", "several"):
        tree = copy.deepcopy(data)
        steps = rng.randint(2, 5) if kind == "several" else 1
        done = []
        for _ in range(steps):
            nodes = [p for p in _paths(tree) if p[0]]
            path, value = rng.choice(nodes)
            op = rng.choice(["delete", "swap", "add_key", "copy", "wrap"]) if kind == "several" else kind
            if op == "delete":
                _delete(tree, path)
            elif op == "swap":
                _set(tree, path, copy.deepcopy(rng.choice(POOL)))
            elif op == "add_key":
                target = rng.choice([v for _, v in _paths(tree) if isinstance(v, dict)])
                target[rng.choice(["extra", "typo_key", 1, "type", "external_folders"])] = rng.choice(POOL)
            elif op == "copy":
                _set(tree, path, copy.deepcopy(rng.choice(nodes)[1]))
            else:
                _set(tree, path, [value] if rng.random() < 0.5 else {"value": value})
            done.append(f"{op} {'.'.join(map(str, path))}")
        return "; ".join(done), yaml.safe_dump(tree, allow_unicode=True, width=4096).encode("utf-8")
    raw = text.encode("utf-8")
    if kind == "text_token":
        at = rng.randrange(len(text))
        return f"insert {rng.choice(TOKENS)!r} at {at}", (text[:at] + rng.choice(TOKENS) + text[at:]).encode("utf-8")
    if kind == "control":
        at = rng.randrange(len(text))
        char = chr(rng.choice([0, 1, 7, 8, 11, 12, 27, 127, 0x9F, 0xFFFE]))
        return f"control {ord(char):#x} at {at}", (text[:at] + char + text[at:]).encode("utf-8", "surrogatepass")
    if kind == "encoding":
        codec = rng.choice(["latin-1", "utf-16", "utf-32", "cp1252"])
        extra = "# caf\u00e9 \u00b5m\n"
        return f"encoding {codec}", (extra + text).encode(codec, "replace")
    if kind == "truncate":
        at = rng.randrange(len(raw))
        return f"truncate at {at}", raw[:at]
    if kind == "flip":
        out = bytearray(raw)
        for _ in range(rng.randint(1, 5)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return "flip bytes", bytes(out)
    if kind == "duplicate_key":
        key = rng.choice(list(data))
        return f"duplicate {key}", (text + f"\n{key}: {yaml.safe_dump(data[key], default_flow_style=True)}").encode()
    if kind == "alias":  # a valid anchor and alias: the same light twice
        return "alias", (text + "\nmaterials:\n  shared: &m {roughness: 0.5}\n  again: *m\n").encode()
    if kind == "alias_bomb":
        key = rng.choice(["motion", "lights", "materials", "randomization", "zzz"])
        levels, width = rng.choice([(9, 9), (6, 10), (20, 2), (4, 100)])
        body = f"{key}:\n" + alias_bomb(levels, width)
        return f"alias bomb {levels}x{width} under {key}", (text + "\n" + body).encode()
    depth = rng.choice([99, 101, 5000, 30000])
    opener, closer = rng.choice([("[", "]"), ("{a: ", "}")])
    key = rng.choice(["motion", "rig", "zzz", "background"])
    return f"nesting {depth} under {key}", (text + f"\n{key}: " + opener * depth + "1" + closer * depth + "\n").encode()


def check_message(message: str, path: Path) -> None:
    """A scene error: one line, or a head line and one line per problem; every problem line names the file."""
    assert message and "Traceback" not in message and len(message) < 20_000
    lines = message.splitlines()
    if len(lines) == 1:
        assert str(path) in lines[0], message
        return
    assert lines[0].endswith(":") and "problems in" in lines[0], message
    assert all(line.startswith("  ") and (str(path) in line or "more" in line) for line in lines[1:]), message


def finite_tree(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_tree(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(finite_tree(v) for v in value)
    return True


def check_one(path: Path, raw: bytes) -> str:
    """Validate a mutated file as ``scene check --no-build`` does; returns 'ok' or 'error'."""
    path.write_bytes(raw)
    try:
        spec = load_scene_spec(path)
        motion_mix(spec)
    except SceneError as exc:
        check_message(str(exc), path)
        return "error"
    dumped = spec.model_dump(mode="python")
    assert finite_tree(dumped), "a non-finite number passed validation"
    for cam in spec.cameras:
        assert cam.width is None or 16 <= cam.width <= 8192
    return "ok"


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory) -> Path:
    """A folder with the files the rich base scene refers to (a mesh and a texture)."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "part.stl").write_text(
        "solid p\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\n"
        "vertex 0 1 0\nendloop\nendfacet\nendsolid p\n"
    )
    cv2.imwrite(str(folder / "floor.png"), np.zeros((8, 8, 3), np.uint8))
    return folder


def run_fuzz(folder: Path, n: int, seed: int) -> dict:
    rng = random.Random(seed)
    texts = bases()
    stats = {"ok": 0, "error": 0, "max_s": 0.0}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    for i in range(n):
        what, raw = mutate(rng, rng.choice(texts))
        t0 = time.perf_counter()
        try:
            outcome = check_one(folder / f"m{i % 7}.yaml", raw)
        except AssertionError:
            raise
        except Exception as exc:  # anything but a SceneError is a bug
            pytest.fail(f"mutation {i} ({what}) raised {type(exc).__name__}: {exc}\n{raw[:2000]!r}")
        elapsed = time.perf_counter() - t0
        assert elapsed < 5.0, f"mutation {i} ({what}) took {elapsed:.1f} s"
        stats[outcome] += 1
        stats["max_s"] = max(stats["max_s"], elapsed)
    stats["total_s"] = time.perf_counter() - start
    stats["rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert stats["rss_growth_mb"] < 300, stats
    return stats


def test_the_bases_are_valid(scene_dir):
    for text in bases():
        assert check_one(scene_dir / "base.yaml", text.encode()) == "ok"


def test_fuzz_load_scene_spec(scene_dir):
    stats = run_fuzz(scene_dir, 200, seed=12)
    print(f"\nscene fuzz: {stats}")
    assert stats["error"] > 100 and stats["ok"] > 5  # both outcomes are exercised
    assert stats["total_s"] < 60


@pytest.mark.slow
def test_fuzz_load_scene_spec_long(scene_dir):
    stats = run_fuzz(scene_dir, 3000, seed=2024)
    print(f"\nscene fuzz (long): {stats}")


def _limit_memory():  # the child may use at most 2 GiB of address space
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_fuzz_through_the_command_line(scene_dir):
    """A few mutations (every text-level kind) through ``synthmouse scene check --no-build`` in a subprocess:
    exit code 0 or 2, and on 2 only ``error:`` lines, never a traceback; bounded time and memory."""
    rng = random.Random(7)
    texts = bases()
    cases = []
    while len(cases) < 6:
        what, raw = mutate(rng, rng.choice(texts))
        if what.split()[0] in ("alias", "nesting", "encoding", "control", "duplicate", "insert", "flip"):
            if not any(c[0].split()[0] == what.split()[0] for c in cases):
                cases.append((what, raw))
    for i, (what, raw) in enumerate(cases):
        path = scene_dir / f"cli{i}.yaml"
        path.write_bytes(raw)
        result = subprocess.run(
            [sys.executable, "-m", "synthmouse", "scene", "check", "--no-build", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_limit_memory,
            cwd=scene_dir,
        )
        assert result.returncode in (0, 2), f"{what}: {result.returncode}\n{result.stderr}"
        assert "Traceback" not in result.stderr, f"{what}:\n{result.stderr}"
        if result.returncode == 2:
            lines = result.stderr.strip().splitlines()
            assert lines[0].startswith("error: "), f"{what}:\n{result.stderr}"
            check_message(result.stderr.strip().removeprefix("error: "), path)
