"""``synthmouse place-mirror``: place a mirror by naming the view it should show in a scene's camera."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import SceneError


def register(app: typer.Typer) -> None:
    """Add the ``place-mirror`` command to the main app."""
    app.command("place-mirror")(place_mirror_command)


def parse_numbers(text: str, count: int, option: str) -> list[float]:
    """``"a,b[,c]"`` to ``count`` floats, or a one-line error naming ``option``."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise SceneError(f"{option} {text!r}: give {count} numbers separated by commas")
    return values


def requested_pixel(at: list[str] | None, labels: Path | None, keypoints: str | None, suffix: str):
    """The pixel asked for: the mean of the ``--at`` points, or of the labelled keypoints (``--keypoints``, else
    those ending with ``suffix``) in ``--labels``; None for the default."""
    import numpy as np

    from ..io.labels import read_labels
    from ..scene.mirror_place import labelled_pixel

    if at and labels is not None:
        raise SceneError("give --at or --labels, not both")
    if at:
        return np.mean([parse_numbers(p, 2, "--at") for p in at], axis=0)
    if labels is None:
        return None
    frames = read_labels(labels)
    names = keypoints.split(",") if keypoints else [n for n in frames.names if n.endswith(suffix)]
    return labelled_pixel(frames, names)


def place_mirror_command(
    scene_file: Annotated[Path, typer.Argument(help="Scene file (YAML).")],
    view: Annotated[
        str,
        typer.Option(
            "--view",
            help="The view the mirror shows: below, above, front, back, left, right, or a direction x,y,z from the "
            "animal (--view=-1,0,0 when it starts with a minus).",
        ),
    ] = "below",
    camera: Annotated[
        str | None, typer.Option("--camera", help="Camera that sees the mirror (default: the first).")
    ] = None,
    at: Annotated[
        list[str] | None,
        typer.Option(
            "--at",
            help="Pixel u,v where the mirrored animal should appear; repeat it for labelled points of the "
            "mirrored animal (their mean is used). Default: halfway from the animal to the image border on the "
            "view's side.",
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="Real labels (DeepLabCut, SLEAP, Lightning Pose): the mirrored animal appears at the mean of "
            "the keypoints named by --keypoints (default: those whose names end with the mirror's suffix).",
        ),
    ] = None,
    keypoints: Annotated[
        str | None, typer.Option("--keypoints", help="With --labels: keypoints seen in the mirror, comma-separated.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Mirror name.")] = "mirror",
    suffix: Annotated[str | None, typer.Option("--suffix", help="Keypoint suffix (default: _<name>).")] = None,
    margin: Annotated[
        float, typer.Option("--margin", min=0.0, max=5.0, help="Mirror margin around the animal, share of its size.")
    ] = 0.25,
    write: Annotated[bool, typer.Option("--write", help="Add the mirror to the scene file (else print it).")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="With --write: write this file instead.")] = None,
) -> None:
    """Compute the mirror that shows the animal from --view in a camera's image, and print or write it."""
    import numpy as np

    from ..scene.build import build_scene
    from ..scene.camera_fit.scene_edit import format_value
    from ..scene.mirror_place import (
        mirror_entry,
        place_mirror,
        view_direction,
        write_mirror_to_scene,
    )
    from ..scene.spec import load_scene_spec

    direction = view_direction(view if "," not in view else parse_numbers(view, 3, "--view"))
    pixel = requested_pixel(at, labels, keypoints, suffix if suffix is not None else f"_{name}")
    scene = build_scene(load_scene_spec(scene_file))
    chosen = scene.camera(camera) if camera is not None else scene.cameras[0]
    extent = np.asarray(scene.body_extent, dtype=float)
    placed = place_mirror(
        chosen, extent.mean(0), direction, pixel, extent=extent[1] - extent[0], margin=margin, name=name
    )
    entry = mirror_entry(placed.mirror, suffix)
    typer.echo(
        f"mirror {name!r} for camera {chosen.name!r}: the animal's centre appears at pixel "
        f"({placed.pixel[0]:.1f}, {placed.pixel[1]:.1f}), seen from {placed.view_error_deg:.1f} degrees off the "
        f"view asked for (looking from {np.round(placed.achieved, 3).tolist()})"
    )
    if placed.blocks_direct_view:
        typer.echo("warning: the mirror hides the animal from the camera; choose another pixel (--at)")
    if write:
        path = write_mirror_to_scene(scene_file, entry, out)
        typer.echo(f"wrote mirror {name!r} into {path}")
    else:
        typer.echo("mirrors:\n  - " + format_value(entry))
