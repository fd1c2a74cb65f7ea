"""``synthmouse motion``: check a motion mix, sample poses from it, preview it as a contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MODEL_HELP = "Body: parametric, sam, a SAM text folder, or a .gltf/.glb file."


def register(app: typer.Typer) -> None:
    """Add the ``motion`` command group to the main app."""
    motion_app = typer.Typer(help="Motion mixes: validate, sample and preview pose sequences.",
                             no_args_is_help=True)
    motion_app.command("validate")(validate)
    motion_app.command("sample")(sample)
    motion_app.command("preview")(preview)
    app.add_typer(motion_app, name="motion")


def validate(mix: Annotated[Path, typer.Argument(help="Motion mix YAML file.")]) -> None:
    """Validate a motion mix file and list its generators."""
    from ..motion.mix import load_mix_spec

    spec = load_mix_spec(mix)
    total = sum(g.weight for g in spec.generators)
    typer.echo(f"{mix}: ok, support {spec.support.type}, {len(spec.generators)} generators:")
    for g in spec.generators:
        typer.echo(f"  {g.label:<16} {g.type:<11} weight {g.weight / total:5.1%}  "
                   f"duration {g.duration[0]:g}-{g.duration[1]:g} s")


def sample(
    mix: Annotated[Path, typer.Argument(help="Motion mix YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output .npz (root, rotations, angles, segment, name).")],
    frames: Annotated[int, typer.Option("--frames", min=1, help="Number of frames.")] = 300,
    fps: Annotated[float | None, typer.Option("--fps", help="Frame rate (default: the mix's fps).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    start: Annotated[int, typer.Option("--start", min=0, help="First frame index.")] = 0,
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "parametric",
) -> None:
    """Sample frames ``start .. start + frames - 1`` of a mix and save them (atomic write)."""
    import numpy as np

    from ..body import load_body
    from ..fileio import atomic_path
    from ..motion.mix import MotionMix

    body = load_body(model)
    m = MotionMix.from_yaml(mix, body)
    rate = fps or m.spec.fps
    angles, root, ids, names = m.frames(start, start + frames, rate, seed)
    with atomic_path(out) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, root=root, angles=angles, segment=ids, name=np.array(names),
                            fps=rate, seed=seed, start=start, joints=np.array(body.skeleton.names))
    typer.echo(f"{out}: {frames} frames at {rate:g} fps, {len(set(ids.tolist()))} segments")


def preview(
    mix: Annotated[Path, typer.Argument(help="Motion mix YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output PNG contact sheet.")] = Path("motion_preview.png"),
    seconds: Annotated[float, typer.Option("--seconds", help="Length of the clip shown.")] = 4.0,
    start: Annotated[float, typer.Option("--start", help="Start time (seconds) in the mix.")] = 0.0,
    panels: Annotated[int, typer.Option("--panels", min=1, max=30, help="Frames shown.")] = 10,
    fps: Annotated[float | None, typer.Option("--fps", help="Frame rate (default: the mix's fps).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    generator: Annotated[str | None, typer.Option("--generator", help="Show one generator of the mix alone "
                                                  "(its name or type) instead of the mix.")] = None,
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "parametric",
) -> None:
    """Draw a contact sheet (side and top views of the skinned mesh) of a stretch of a mix."""
    import numpy as np

    from ..body import load_body
    from ..errors import SceneError
    from ..motion.mix import MotionMix
    from ..motion.preview import contact_sheet

    body = load_body(model)
    m = MotionMix.from_yaml(mix, body)
    rate = fps or m.spec.fps
    n = max(2, int(round(seconds * rate)))
    if generator is not None:
        match = [g for g in m.spec.generators if generator in (g.label, g.type)]
        if not match:
            raise SceneError(f"{mix}: no generator {generator!r}; the mix has {m.names}")
        clip = match[0].generate(m.rig, n, rate, np.random.default_rng(seed), m.stage)
        pose, title = clip.pose(), f"{match[0].label} ({body.name})"
    else:
        first = int(round(start * rate))
        pose, ids, names = m.sample(first + n, rate, seed)
        pose = pose[first:]
        title = f"{mix.name} seed {seed}: " + ", ".join(dict.fromkeys(names[first:]))
    floor = m.stage.support.top if m.stage.support.kind != "wheel" else None
    contact_sheet(body, pose, out, frames=panels, fps=rate, title=title, floor=floor)
    typer.echo(f"{out}: {panels} panels over {n / rate:.2f} s")
