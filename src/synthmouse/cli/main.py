"""The ``synthmouse`` command line: a thin layer over the library (nothing imports the CLI).

Each concern registers its commands from its own module (``model.py``, ``scene.py``, ``dataset.py`` ...), so the
library stays usable without typer.
"""

from __future__ import annotations

import importlib
import sys

import typer

from ..errors import SynthmouseError

app = typer.Typer(
    name="synthmouse",
    help="Exactly labelled synthetic training data for mouse pose estimation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command modules; each defines ``register(app)``. A module that is missing is skipped, so partial installs work.
COMMAND_MODULES = ("model", "scene", "motion", "dataset", "appearance", "report", "pose", "mirror")


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
) -> None:
    """synthmouse: 3D mouse models and rigs to labelled training data for DeepLabCut, SLEAP and Lightning Pose."""
    _STATE["debug"] = debug


_STATE = {"debug": False}


@app.command()
def version() -> None:
    """Print the package version."""
    from .. import __version__

    typer.echo(__version__)


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"{__package__}.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.{_name}":
            raise
        continue
    _module.register(app)


# Commands whose interrupted work a rerun of the same command continues.
RESUMABLE_COMMANDS = frozenset({"generate", "demo", "motion retarget"})
EXIT_ERROR = 2  # a SynthmouseError: bad input or a failed operation, one line on stderr
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the app and exit with its status.

    A :class:`SynthmouseError` prints one line (``error: ...``, no traceback unless ``--debug``) and exits 2;
    running out of memory does the same. Ctrl-C exits 130 with ``interrupted; rerun to resume`` (commands in
    :data:`RESUMABLE_COMMANDS`) or ``interrupted``. typer, called with ``standalone_mode=False``, turns Ctrl-C
    into a *returned* 130 (and a ``typer.Exit`` into its returned code) instead of raising, so the return value
    is the exit status.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = app(args=args, standalone_mode=False)
    except SynthmouseError as exc:
        if _STATE["debug"]:
            raise
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_ERROR)
    except (typer.Abort, KeyboardInterrupt):  # Abort: Ctrl-C at a prompt; KeyboardInterrupt: outside typer
        code = EXIT_INTERRUPTED
    except typer.Exit as exc:
        code = exc.exit_code
    except MemoryError:
        if _STATE["debug"]:
            raise
        typer.secho(
            "error: out of memory; lower the cameras' resolution, or free memory, and rerun (--debug shows where)",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # usage errors of (typer's vendored) click: duck-typed, their home module varies
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    if code == EXIT_INTERRUPTED:
        resumable = _command_name(args) in RESUMABLE_COMMANDS
        typer.echo("interrupted; rerun to resume" if resumable else "interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)


def _command_name(args: list[str]) -> str | None:
    """The command a command line runs: its first word that is not an option of the main app, with the
    subcommand for command groups (``motion retarget``)."""
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return None
    return " ".join(words[:2]) if words[0] in {"motion", "scene", "model"} and len(words) > 1 else words[0]


if __name__ == "__main__":
    run()
