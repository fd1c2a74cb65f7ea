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
COMMAND_MODULES = ("model", "scene", "motion", "dataset", "appearance", "report", "pose")


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


def run() -> None:
    """Entry point: run the app, printing :class:`SynthmouseError` messages without a traceback."""
    try:
        app(standalone_mode=False)
    except SynthmouseError as exc:
        if _STATE["debug"]:
            raise
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # usage errors of (typer's vendored) click: duck-typed, their home module varies
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    run()
