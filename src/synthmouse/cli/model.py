"""``synthmouse model``: fetch body models into the cache and describe them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from ..errors import SynthmouseError


def register(app: typer.Typer) -> None:
    """Add the ``model`` command group to the main app."""
    model_app = typer.Typer(help="Body models: download them and show what they contain.", no_args_is_help=True)
    model_app.command("fetch")(fetch)
    model_app.command("info")(info)
    app.add_typer(model_app, name="model")


def fetch(
    name: Annotated[str, typer.Argument(help="Model to download: sam.")],
    url: Annotated[
        str | None,
        typer.Option("--url", help="Base URL of a mirror serving the files flat (BASE/vertices.txt)."),
    ] = None,
    dest: Annotated[Path | None, typer.Option("--dest", help="Folder to write to (default: the user cache).")] = None,
) -> None:
    """Download a model's files (pinned source commit, sha256-checked) into the cache or DEST."""
    from ..body.fetch import fetch_model

    folder = fetch_model(name, base_url=url, dest=dest, progress=typer.echo)
    typer.echo(f"{name}: ready in {folder}")


def info(
    model: Annotated[
        str, typer.Argument(help="parametric, sam, a SAM text folder, or a .gltf/.glb file.")
    ] = "parametric",
) -> None:
    """Print a body's joints, mesh size, landmarks and the keypoint sets it resolves."""
    from ..body import load_body
    from ..body.keypoint_sets import builtin_set_names

    body = load_body(model)
    sk, mesh = body.skeleton, body.mesh
    typer.echo(f"body: {body.name} ({body.source or model})")
    typer.echo(
        f"vertices: {mesh.n_vertices}  faces: {len(mesh.faces)}  joints: {sk.n_joints}  "
        f"length (nose to tail root): {body.length * 1000:.1f} mm"
    )
    typer.echo("joint groups: " + ", ".join(f"{g} {n}" for g, n in sorted(Counter(sk.groups).items())))
    typer.echo("joints (index name parent group):")
    for j, (name, parent, group) in enumerate(zip(sk.names, sk.parents, sk.groups, strict=True)):
        typer.echo(f"  {j:4d} {name:32s} {sk.names[parent] if parent >= 0 else '-':32s} {group}")
    typer.echo(f"landmarks ({len(body.landmarks)}): " + ", ".join(sorted(body.landmarks)))
    typer.echo("keypoint sets:")
    for set_name in builtin_set_names():
        try:
            kset = body.keypoint_set(set_name)
        except SynthmouseError as exc:
            typer.echo(f"  {set_name}: not available ({exc})")
            continue
        typer.echo(f"  {set_name} ({len(kset)}): " + ", ".join(kset.names))
