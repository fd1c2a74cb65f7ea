"""The public API: a scene file in, a labelled dataset out.

    import synthmouse as sm

    scene = sm.load_scene("scene.yaml")          # or sm.demo_scene()
    report = sm.generate(scene, out="ds", frames=100)

:func:`generate` does what ``synthmouse generate`` does (same folder, same bytes for the same scene and seed),
without the progress bars: it resumes an interrupted run in the same folder and exports when every frame exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .dataset.exporters import resolve_formats
from .dataset.generation import GenerateOptions, GenerateReport, Progress, check_seed, identity_of
from .dataset.generation import generate as generate_dataset
from .dataset.scene_source import demo_spec, scene_hash, source_from_spec
from .dataset.state import check_output_folder
from .scene.spec import SceneSpec, load_scene_spec

DEMO_NAME = "demo"


@dataclass(frozen=True)
class SceneFile:
    """A validated scene and its name (a file's stem: the dataset's scene name and DeepLabCut task)."""

    spec: SceneSpec
    name: str

    @property
    def seed(self) -> int:
        """The scene's own seed (used when :func:`generate` gets none)."""
        return int(self.spec.seed)


def load_scene(path: str | Path) -> SceneFile:
    """Read and validate a scene file (errors name the file, line, field, bad value and what is allowed)."""
    return SceneFile(spec=load_scene_spec(path), name=Path(path).stem)


def demo_scene(size: tuple[int, int] | None = None) -> SceneFile:
    """The built-in demo scene (``synthmouse demo``): the wheel rig with the parametric mouse, a side and a
    front-oblique camera; ``size`` ``(width, height)`` overrides their image size."""
    return SceneFile(spec=demo_spec(size), name=DEMO_NAME)


def generate(
    scene: SceneFile | str | Path,
    out: str | Path,
    frames: int,
    seed: int | None = None,
    formats: Sequence[str] | None = None,
    *,
    video: bool = False,
    progress: Progress | None = None,
) -> GenerateReport:
    """Render (or resume) a labelled dataset of ``frames`` frames of ``scene`` into the folder ``out``.

    Args:
        scene: from :func:`load_scene` or :func:`demo_scene`, or a scene file's path.
        out: output folder: new, empty, or this same dataset (then the run resumes).
        frames: number of frames.
        seed: the dataset seed (default: the scene's).
        formats: label formats by name (``dlc``, ``sleap``, ``coco``, ``lp``, ``nwb`` or a plug-in's); default:
            every built-in format whose libraries are installed.
        video: also write one mp4 per camera.
        progress: called with ``(stage, done, total)``.

    Returns:
        What the run did (``complete`` once every frame exists and the labels are exported).
    """
    scene = scene if isinstance(scene, SceneFile) else load_scene(scene)
    seed = check_seed(scene.seed if seed is None else seed)
    options = GenerateOptions(
        n_frames=int(frames),
        formats=resolve_formats(list(formats) if formats else None),
        image_format=scene.spec.outputs.format,
        jpeg_quality=scene.spec.outputs.jpeg_quality,
        video=video,
    )
    check_output_folder(Path(out), identity_of(scene.name, scene_hash(scene.spec), seed, options))  # fail fast
    source = source_from_spec(scene.spec, scene.name, seed)
    try:
        return generate_dataset(source, out, options, progress)
    finally:
        source.close()
