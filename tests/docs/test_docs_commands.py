"""Every command block of README.md and docs/**/*.md runs (slow), and none escapes the harness (fast).

The tables that turn a reader's command into a test case (skips, optional parts, small sizes, the placeholder
inputs) are in ``tests/docs/doc_commands.py``. Run the slow part with
``pytest -m slow tests/docs/test_docs_commands.py`` (one case per doc file: its commands run in order in one
folder; minutes).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time

import doc_commands as dc
import pytest

FILES = [p for p in dc.doc_files() if dc.commands(p)]
FILE_IDS = [p.relative_to(dc.REPO).as_posix() for p in FILES]


def test_doc_commands_are_all_covered_by_the_tables():
    """Each command is runnable after the tables or skipped with a reason; no command hides in an untagged block."""
    found = []
    for path in dc.doc_files():
        found += dc.untagged_commands(path)
        found += dc.problems(dc.file_commands(path))
    assert not found, "doc commands the harness cannot run (see tests/docs/doc_commands.py):\n" + "\n".join(found)
    assert sum(len(dc.commands(p)) for p in FILES) >= 30  # the extraction still finds the docs' commands


def test_every_table_entry_is_still_used():
    """Stale entries hide nothing, but they mislead: every skip, optional part and input is used by some doc."""
    texts = {p.relative_to(dc.REPO).as_posix(): [c.text for c in dc.commands(p)] for p in FILES}
    every = [t for ts in texts.values() for t in ts]
    unused = [f"SKIP {p}" for p in dc.SKIP if not any(re.search(p, t) for t in every)]
    unused += [f"OPTIONAL {p}" for p in dc.OPTIONAL if not any(p in t for t in every)]
    unused += [
        f"INPUTS[{f}] {n}" for f, names in dc.INPUTS.items() for n in names if not any(n in t for t in texts.get(f, []))
    ]
    assert not unused, unused


def _cli():
    import typer.main

    from synthmouse.cli.main import app

    return typer.main.get_command(app)


def _options(command) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")} | {"--help"}


def test_every_documented_subcommand_and_option_exists():
    """`synthmouse SUB [SUB] --opt` in the docs (run or skipped) names a real command and its real options."""
    root = _cli()
    bad = []
    for path in FILES:
        for cmd in dc.file_commands(path):
            for line in (cmd.run or cmd.text).splitlines():
                for segment in re.split(r"[;&|]+", line):
                    try:
                        tokens = shlex.split(segment)
                    except ValueError:
                        tokens = segment.split()
                    if "synthmouse" not in tokens:
                        continue
                    tokens = tokens[tokens.index("synthmouse") + 1 :]
                    command, words = root, []
                    while hasattr(command, "commands") and tokens and not tokens[0].startswith("-"):
                        name = tokens.pop(0)
                        words.append(name)
                        if name not in command.commands:
                            bad.append(f"{cmd.id}: no command `synthmouse {' '.join(words)}`")
                            command = None
                            break
                        command = command.commands[name]
                    if command is None:
                        continue
                    if hasattr(command, "commands"):
                        bad.append(f"{cmd.id}: `synthmouse {' '.join(words)}` needs a subcommand")
                        continue
                    known = _options(command)
                    for tok in tokens:
                        opt = tok.split("=", 1)[0]
                        if re.match(r"^--?[A-Za-z]", opt) and opt not in known:
                            bad.append(f"{cmd.id}: `synthmouse {' '.join(words)}` has no option {opt}")
    assert not bad, "\n".join(bad)


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=FILE_IDS)
def test_doc_commands_run(path, tmp_path):
    cmds = dc.file_commands(path)
    if dc.needs_shared(cmds) and not dc.SHARED.is_dir():
        pytest.skip(f"needs the shared data folder at {dc.SHARED} (set SYNTHMOUSE_SHARED)")
    assert not dc.problems(cmds), dc.problems(cmds)
    cwd = dc.setup_workdir(tmp_path, cmds[0].file)
    env = dc.environment_cached(tmp_path)
    log = []
    for cmd in cmds:
        if cmd.skip:
            log.append(f"SKIP {cmd.id}: {cmd.skip}")
            continue
        start = time.monotonic()
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", cmd.run],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        seconds = time.monotonic() - start
        log.append(
            f"{'PASS' if done.returncode == 0 else 'FAIL'} {cmd.id} ({seconds:.1f} s): {cmd.run}"
            + (f"   [{'; '.join(cmd.notes)}]" if cmd.notes else "")
        )
        assert done.returncode == 0, (
            f"{cmd.id}: exit {done.returncode}\n  as written: {cmd.text}\n  ran: {cmd.run}\n"
            f"  stderr (tail):\n{done.stderr[-4000:]}\n  stdout (tail):\n{done.stdout[-1500:]}\n" + "\n".join(log)
        )
    print("\n".join(log))
