"""The command blocks of README.md and docs/**/*.md as test cases (used by ``tests/docs/test_docs_commands.py``).

Every fenced ``bash`` / ``sh`` block is cut into commands: one per line (``\\`` continuations joined, trailing
``# comments`` dropped), or the whole block as one script when it has shell control flow (``for ... done``).
What a reader types differs from what a test can afford, so each command passes through explicit tables:

* :data:`SKIP`: commands that cannot run here, each with its reason;
* :data:`OPTIONAL`: the ``[...]`` optional parts the docs show, each either kept (brackets removed) or dropped;
* :data:`SIZE_REWRITES` / :data:`ADDED_OPTIONS`: large sizes made small (``--frames 5000`` -> ``--frames 8``)
  and small sizes added where the command's default is large (``train`` -> ``--steps 4``);
* :data:`INPUTS`: the user-specific names of each doc file (``my_video.mp4``, ``my_dlc_project`` ...) mapped to
  the shared real data or to small inputs the harness writes; ``--model sam`` finds the shared SAM model through
  a temporary ``SYNTHMOUSE_CACHE_DIR`` (where ``synthmouse model fetch sam`` would put it).

:func:`problems` lists what the tables do not cover (an unknown ``[...]``, a large size left, a path that is
neither an input, an earlier output nor a file of the repository); the fast test fails on any of them, so a new
doc command cannot escape the harness. Commands of one file run in order in one folder (later commands use the
earlier ones' outputs): a copy of the repository's ``docs/`` beside ``../shared`` (a link to the shared data).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from fakes.motion import LANDMARKS as RETARGET_LANDMARKS

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SYNTHMOUSE_SHARED", REPO.parent / "shared"))
SHELL_LANGS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^\s*```\s*([\w+-]*)")
CONTROL = re.compile(r"^\s*(for|while|until|if|case)\b")


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


@dataclass
class DocCommand:
    file: str  # relative to the repository
    line: int  # 1-based line of the command's first line
    text: str  # as written, continuations joined, comments dropped
    script: bool = False  # a whole block with control flow
    run: str = ""  # after the tables (filled by prepare)
    skip: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` outside quotes, at the start or after a blank)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def blocks(path: Path) -> list[tuple[str, int, list[str]]]:
    """Fenced blocks of a markdown file: (language, line of the first content line, lines)."""
    out, current = [], None
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = FENCE.match(line)
        if current is None:
            if m:
                current = (m.group(1).lower(), n + 1, [])
        elif m and not m.group(1):
            out.append(current)
            current = None
        else:
            current[2].append(line)
    return out


def commands(path: Path) -> list[DocCommand]:
    rel = path.relative_to(REPO).as_posix()
    out = []
    for lang, first, lines in blocks(path):
        if lang not in SHELL_LANGS:
            continue
        if any(CONTROL.match(line) for line in lines):
            body = "\n".join(s for s in (strip_comment(line) for line in lines) if s)
            out.append(DocCommand(rel, first, body, script=True))
            continue
        pending, start = "", None
        for n, line in enumerate(lines, first):
            text = strip_comment(line)
            if not pending and not text:
                continue
            if start is None:
                start = n
            if text.endswith("\\"):
                pending += text[:-1].rstrip() + " "
                continue
            pending += text.strip()
            out.append(DocCommand(rel, start, " ".join(pending.split())))
            pending, start = "", None
    return out


def untagged_commands(path: Path) -> list[str]:
    """Lines of non-shell fenced blocks that look like commands (they would escape the harness)."""
    found = []
    for lang, first, lines in blocks(path):
        if lang in SHELL_LANGS or lang in {"yaml", "python", "diff", "toml", "json"}:
            continue
        for n, line in enumerate(lines, first):
            if re.match(r"\s*(synthmouse|make|\.venv/bin/|python)\b", line):
                found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    return found


# ---------------------------------------------------------------------------------------------------- tables

DLC_PYTHON = Path("~/.cache/dlcenv/bin/python").expanduser()

# regex on the command as written -> why it does not run here (callable: reason or None, decided at run time)
SKIP: dict[str, object] = {
    r"^make demo$": "bootstraps .venv and renders 200 frames; its `synthmouse demo` runs in docs/dataset.md",
    r"^make test$": "runs this test suite itself (recursion)",
    r"^\.venv/bin/python -m pytest ": "runs part of this test suite itself (recursion)",
    r"^sleap-nn train ": "SLEAP's own trainer (not a synthmouse dependency) with the reader's own config",
    r"^~/\.cache/dlcenv/bin/python ": lambda: (
        None if DLC_PYTHON.is_file() else f"needs the DeepLabCut environment {DLC_PYTHON} (not installed here)"
    ),
}

# optional parts as written -> what runs (None: dropped), with why
OPTIONAL: dict[str, tuple[str | None, str]] = {
    "[--real-labels my_dlc_project --n-real 10]": ("--real-labels my_dlc_project --n-real 10", "kept: the real labels"),
    "[--map snout=nose ...]": (None, "dropped: the shared open-field labels match by name"),
    "[--frames 0:3000]": ("--frames 0:8", "kept, on the 8 frames of the harness's files"),
    "[--fps 100]": ("--fps 100", "kept"),
}

SMALL_FRAMES = 8
# (subcommand, option) -> small value; applied when the doc writes a larger one
SIZE_REWRITES: dict[tuple[str, str], str] = {
    ("generate", "--frames"): str(SMALL_FRAMES),
    ("fit-appearance", "--frames"): "20",
    ("fit-appearance", "--backgrounds"): "2",
}
# subcommand -> options added when the doc does not set them (the default is large)
ADDED_OPTIONS: dict[str, list[str]] = {
    "demo": ["--frames", str(SMALL_FRAMES)],
    "fit-appearance": ["--frames", "20", "--backgrounds", "2"],
    "train": ["--steps", "4", "--batch-size", "2"],
    "benchmark-sim2real": [
        "--frames",
        str(SMALL_FRAMES),
        "--folds",
        "2",
        "--k",
        "2",
        "--steps",
        "2",
        "--batch-size",
        "2",
    ],
}
# options whose values are sizes: after the tables none may be above SIZE_LIMIT
SIZE_OPTIONS = {"--frames", "--steps", "--backgrounds", "--folds", "--panels", "--n-real", "--chunk"}
SIZE_LIMIT = 50
# subcommands whose default size is large: the tables must set these options
LARGE_DEFAULTS = {
    "demo": ["--frames"],
    "train": ["--steps"],
    "benchmark-sim2real": ["--frames", "--steps"],
    "fit-appearance": ["--frames"],
}

# user-specific names per doc file -> ("shared", path under ../shared) or ("make", maker name in INPUT_MAKERS)
SHARED_VIDEO = ("shared", "real/openfield/videos/m3v1mp4.mp4")
SHARED_PROJECT = ("shared", "real/openfield")
INPUTS: dict[str, dict[str, tuple[str, str]]] = {
    "README.md": {
        "my_video.mp4": SHARED_VIDEO,
        "my_dlc_project": SHARED_PROJECT,
        "side.h5": ("make", "retarget_side_dlc_landmarks"),  # no --map: the files use the body's names
        "top.slp": ("make", "retarget_top_slp_landmarks"),
        "cal.toml": ("make", "retarget_calibration_m"),
    },
    "docs/dataset.md": {"my_scene.yaml": ("make", "wheel_scene")},
    "docs/pose.md": {"my_dlc_project": SHARED_PROJECT, "video.mp4": ("make", "short_video")},
    "docs/metrics/README.md": {"data/run1": ("make", "openfield_top_dataset")},
    "docs/appearance/README.md": {"VIDEO.mp4": SHARED_VIDEO},
    "docs/motion/README.md": {
        "side_DLC.h5": ("make", "retarget_side_dlc"),
        "top.predictions.slp": ("make", "retarget_top_slp"),
        "calibration.toml": ("make", "retarget_calibration_mm"),
        "map.yaml": ("make", "retarget_map"),
        "keypoints3d.csv": ("make", "retarget_3d_csv"),
    },
}
# names a command writes although no output option names them
DECLARED_OUTPUTS = {"corners.yaml": "fit-camera --propose writes it"}
OUTPUT_OPTIONS = {"--out", "-o", "--overlay", "--prefix"}
# files whose commands run in their own folder (the doc says so), relative to the copied repository
CWD = {"docs/renders/README.md": "docs/renders"}

PATHLIKE = re.compile(r"^[\w.~/-]+$")
PLACEHOLDER_NAME = re.compile(r"^(my|your)_|^[A-Z][A-Z0-9]*\.")  # my_dlc_project, VIDEO.mp4: always a user's file
EXTENSIONS = re.compile(r"\.(ya?ml|mp4|h5|slp|csv|toml|npz|png|html|json|py)$")


def _subcommand(tokens: list[str]) -> str | None:
    if not tokens or tokens[0] != "synthmouse":
        return None
    words = [t for t in tokens[1:3] if not t.startswith("-")]
    if words and words[0] in {"scene", "motion", "model"} and len(words) > 1:
        return f"{words[0]} {words[1]}"
    return words[0] if words else None


def prepare(cmd: DocCommand) -> DocCommand:
    """Fill ``cmd.run`` / ``cmd.skip`` / ``cmd.notes`` from the tables."""
    for pattern, reason in SKIP.items():
        if re.search(pattern, cmd.text):
            cmd.skip = reason() if callable(reason) else reason
            if cmd.skip:
                return cmd
    text = cmd.text
    for part, (keep, why) in OPTIONAL.items():
        if part in text:
            text = text.replace(part, keep or "")
            cmd.notes.append(f"{part} -> {keep or 'nothing'} ({why})")
    if cmd.script:
        cmd.run = text
        return cmd
    tokens = shlex.split(text)
    sub = _subcommand(tokens)
    if sub is None:  # not synthmouse: runs as written (shlex.join would quote a leading ~)
        cmd.run = text
        return cmd
    for i, tok in enumerate(tokens[:-1]):
        new = SIZE_REWRITES.get((sub, tok))
        if new is not None and tokens[i + 1].isdigit() and int(tokens[i + 1]) > int(new):
            cmd.notes.append(f"{tok} {tokens[i + 1]} -> {tok} {new}")
            tokens[i + 1] = new
    for i in range(0, len(ADDED_OPTIONS.get(sub, [])), 2):
        opt, value = ADDED_OPTIONS[sub][i : i + 2]
        if opt not in tokens:
            tokens += [opt, value]
            cmd.notes.append(f"+ {opt} {value}")
    cmd.run = shlex.join(tokens)
    return cmd


def file_commands(path: Path) -> list[DocCommand]:
    return [prepare(c) for c in commands(path)]


def problems(cmds: list[DocCommand]) -> list[str]:
    """What the tables leave uncovered in one file's commands (empty when every command is runnable or skipped)."""
    out = []
    if not cmds:
        return out
    rel = cmds[0].file
    inputs = INPUTS.get(rel, {})
    cwd_rel = CWD.get(rel, ".")
    outputs: set[str] = set(DECLARED_OUTPUTS)
    for cmd in cmds:
        if cmd.skip:
            continue
        if re.search(r"\[|\]|<|>|\.\.\.", cmd.run.replace("$", "")) and not cmd.script:
            out.append(f"{cmd.id}: placeholder left (add it to OPTIONAL or INPUTS): {cmd.run}")
            continue
        if cmd.script:
            continue  # checked by running it
        tokens = shlex.split(cmd.run)
        sub = _subcommand(tokens)
        if tokens[0] == "synthmouse" and sub is None:
            out.append(f"{cmd.id}: no subcommand: {cmd.run}")
        for opt in LARGE_DEFAULTS.get(sub, []):
            if opt not in tokens:
                out.append(f"{cmd.id}: `{sub}` without {opt} (large default): add to ADDED_OPTIONS")
        for i, tok in enumerate(tokens[:-1]):
            if tok in SIZE_OPTIONS:
                values = [int(v) for v in re.findall(r"\d+", tokens[i + 1])]
                if values and max(values) > SIZE_LIMIT:
                    out.append(f"{cmd.id}: {tok} {tokens[i + 1]} is large: add it to SIZE_REWRITES")
        for i, tok in enumerate(tokens):
            if i and tokens[i - 1] in OUTPUT_OPTIONS:
                outputs.add(tok.rstrip("/"))
                continue
            if (
                tok.startswith("-")
                or not PATHLIKE.match(tok)
                or not ("/" in tok or EXTENSIONS.search(tok) or PLACEHOLDER_NAME.match(tok))
            ):
                continue
            name = tok.rstrip("/")
            if name in inputs or name in outputs:
                continue
            if (REPO / cwd_rel / name).exists() or name.startswith("../shared") or name.startswith("~/"):
                continue
            if name.startswith(".venv/"):
                continue
            out.append(
                f"{cmd.id}: unknown path {tok!r} (not an input of INPUTS[{rel!r}], an earlier output or a "
                f"repository file): {cmd.run}"
            )
    return out


# ---------------------------------------------------------------------------------------------------- running


SHARED_MAKERS = {"short_video"}  # inputs made from the shared data


def needs_shared(cmds: list[DocCommand]) -> bool:
    """Whether a file's commands read ../shared: a path into it, the SAM model, or an input taken from it."""
    rel = cmds[0].file if cmds else ""
    text = " ".join(c.run for c in cmds if not c.skip)
    return (
        "../shared" in text
        or "--model sam" in text
        or any(kind == "shared" or source in SHARED_MAKERS for kind, source in INPUTS.get(rel, {}).values())
    )


def setup_workdir(root: Path, rel: str) -> Path:
    """``root/work`` (a copy of docs/, ``../shared`` beside it), the file's inputs; returns the commands' folder."""
    work = root / "work"
    shutil.copytree(REPO / "docs", work / "docs")
    if SHARED.is_dir():
        (root / "shared").symlink_to(SHARED)
    cwd = work / CWD.get(rel, ".")
    for name, (kind, source) in INPUTS.get(rel, {}).items():
        target = cwd / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "shared":
            target.symlink_to(SHARED / source)
        else:
            INPUT_MAKERS[source](target, root)
    return cwd


def environment(root: Path) -> dict[str, str]:
    """PATH with .venv/bin first, one thread per library, a cache where ``sam`` is the shared SAM model."""
    env = dict(os.environ)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    cache = root / "cache"
    (cache / "models").mkdir(parents=True, exist_ok=True)
    from synthmouse.body.fetch import cache_root

    real = cache_root()
    if real.is_dir():
        for entry in real.iterdir():
            if entry.name != "models":
                (cache / entry.name).symlink_to(entry)
        for entry in (real / "models").glob("*"):
            (cache / "models" / entry.name).symlink_to(entry)
    sam = SHARED / "assets" / "sam_mouse"
    if sam.is_dir() and not (cache / "models" / "sam").exists():
        (cache / "models" / "sam").symlink_to(sam)  # what `synthmouse model fetch sam` would download
    env["SYNTHMOUSE_CACHE_DIR"] = str(cache)
    return env


# ---------------------------------------------------------------------------------------------------- inputs

RETARGET_FRAMES = SMALL_FRAMES
LANDMARKS = RETARGET_LANDMARKS  # the landmarks tests/motion/test_motion_retarget_cli.py fits
PARTS = {name: f"bp_{i}" for i, name in enumerate(LANDMARKS)}


def _cameras():
    from synthmouse.scene.camera import Camera

    return [
        Camera.look_at("side", [0.06, -0.32, 0.07], [0.03, 0.0, 0.02], width=640, height=480),
        Camera.look_at("top", [0.03, 0.04, 0.36], [0.03, 0.0, 0.0], width=640, height=480),
    ]


_TRUTH: dict[str, object] = {}


def _truth():
    """8 frames of a known SAM (else parametric) motion: landmarks (F, K, 3)."""
    if "points" not in _TRUTH:
        import numpy as np

        from synthmouse.body import Pose
        from synthmouse.body.rotations import angles_to_matrices
        from synthmouse.motion import motion_rig
        from synthmouse.motion.semirandom import SemiRandomSpec

        sam = SHARED / "assets" / "sam_mouse"
        if (sam / "vertices.txt").is_file():
            from synthmouse.body.sam import load_sam

            body = load_sam(sam)
        else:
            from synthmouse.body.parametric import build_parametric_mouse

            body = build_parametric_mouse()
        rig = motion_rig(body)
        clip = SemiRandomSpec(amplitude=0.3).generate(rig, RETARGET_FRAMES, 30.0, np.random.default_rng(0))
        pose = Pose(clip.root, angles_to_matrices(clip.angles))
        _TRUTH["points"] = body.keypoints(pose, rig.landmark_set(LANDMARKS))
    return _TRUTH["points"]


def _dlc(names: list[str]):
    def make(target: Path, root: Path) -> None:
        import numpy as np

        from synthmouse.pose.predict import predictions_table

        pixels = _cameras()[0].project(_truth())
        df = predictions_table(
            pixels, np.full(pixels.shape[:2], 0.95), names, "DLC_resnet50_docsJan1shuffle1_1000", range(len(pixels))
        )
        df.to_hdf(target, key="df_with_missing", format="table", mode="w")

    return make


def _slp(names: list[str]):
    return lambda target, root: _write_slp(target, names)


def _write_slp(target: Path, names: list[str]) -> None:
    import numpy as np
    import sleap_io as sio

    pixels = _cameras()[1].project(_truth())
    skeleton = sio.Skeleton(list(names))  # sleap-io turns the list it is given into Nodes in place
    video = sio.Video(filename="top.mp4")
    frames = [
        sio.LabeledFrame(
            video=video,
            frame_idx=f,
            instances=[
                sio.PredictedInstance.from_numpy(
                    pts, skeleton=skeleton, point_scores=np.full(len(names), 0.9), score=0.9
                )
            ],
        )
        for f, pts in enumerate(pixels)
    ]
    sio.save_slp(sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton]), str(target))


def _calibration(unit: str):
    def make(target: Path, root: Path) -> None:
        from synthmouse.scene.calibration import save_cameras

        save_cameras(_cameras(), target, unit=unit)

    return make


def _map(target: Path, root: Path) -> None:
    target.write_text("keypoints:\n" + "".join(f"  {k}: {v}\n" for k, v in PARTS.items()))


def _csv3d(target: Path, root: Path) -> None:
    points = _truth()
    header = "frame," + ",".join(f"{n}_{a}" for n in LANDMARKS for a in "xyz")
    rows = [f"{f}," + ",".join(f"{v:.9f}" for v in points[f].ravel()) for f in range(len(points))]
    target.write_text(header + "\n" + "\n".join(rows) + "\n")


def _run(args: list[str], root: Path, cwd: Path) -> None:
    import subprocess

    done = subprocess.run(args, cwd=cwd, env=environment_cached(root), capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"making an input failed: {shlex.join(args)}\n{done.stderr[-3000:]}")


_ENVS: dict[Path, dict[str, str]] = {}


def environment_cached(root: Path) -> dict[str, str]:
    if root not in _ENVS:
        _ENVS[root] = environment(root)
    return _ENVS[root]


def _wheel_scene(target: Path, root: Path) -> None:
    _run(["synthmouse", "scene", "new", "--rig", "wheel", "--out", str(target)], root, target.parent)


def _openfield_top_dataset(target: Path, root: Path) -> None:
    """docs/metrics' own dataset (openfield_top.yaml), 8 frames instead of 300."""
    _run(
        [
            "synthmouse",
            "generate",
            str(REPO / "docs" / "metrics" / "openfield_top.yaml"),
            "--frames",
            str(SMALL_FRAMES),
            "--seed",
            "3",
            "--out",
            str(target),
        ],
        root,
        target.parent,
    )


def _short_video(target: Path, root: Path) -> None:
    """The first 12 frames of the shared open-field video."""
    import cv2

    reader = cv2.VideoCapture(str(SHARED / SHARED_VIDEO[1]))
    writer = None
    for _ in range(12):
        ok, frame = reader.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(
                str(target), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (frame.shape[1], frame.shape[0])
            )
        writer.write(frame)
    reader.release()
    if writer is None:
        raise RuntimeError(f"could not read {SHARED / SHARED_VIDEO[1]}")
    writer.release()


INPUT_MAKERS = {
    "retarget_side_dlc": _dlc([PARTS[n] for n in LANDMARKS]),  # the files' own names, read through map.yaml
    "retarget_top_slp": _slp([PARTS[n] for n in LANDMARKS]),
    "retarget_side_dlc_landmarks": _dlc(LANDMARKS),
    "retarget_top_slp_landmarks": _slp(LANDMARKS),
    "retarget_calibration_m": _calibration("m"),
    "retarget_calibration_mm": _calibration("mm"),
    "retarget_map": _map,
    "retarget_3d_csv": _csv3d,
    "wheel_scene": _wheel_scene,
    "openfield_top_dataset": _openfield_top_dataset,
    "short_video": _short_video,
}
