"""The generation loop: frames rendered one at a time, written as they are made, merged into exports at the
end.

Frame ``i`` is the unit of work. For each frame not yet done, the source renders it, every camera's image (and
its ground-truth images: depth, mask, part ids, as ``meta.label_images`` asks) is written atomically, then the
frame's label row (:mod:`synthmouse.dataset.rows`) is written atomically: a row
on disk marks a finished frame. Memory does not grow with the number of frames. A killed run continues where
it stopped when the same command is run again; shards (``shard=(k, n)`` or ``frames=(a, b)``) of one dataset
can run in separate processes on the same folder. When every frame has its row, :func:`finalize` merges the
rows into the label files.

Nothing at the start grows with ``n_frames``: the frames to make are walked lazily (a billion-frame run starts
at once and stops cleanly on Ctrl-C); only the rows already on disk are listed. A rerun on a finished dataset
first checks its files against the manifest (:func:`synthmouse.dataset.verify.quick_check`) and reports damage
instead of rewriting the label files over it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..body.groups import PARTS
from ..errors import DatasetDamagedError, OutputError, SynthmouseError
from ..fileio import atomic_open, write_failure
from ..render.base import FrameResult
from .csv_tables import write_frames_table, write_keypoints3d
from .exporters import get_exporter, resolve_formats
from .images import check_image_format, encode_image, encode_label_image, write_image
from .layout import DatasetLayout
from .manifest import write_manifest, write_splits
from .meta import LABEL_IMAGES, DatasetMeta
from .rows import RowStore, camera_row, frame_row
from .source import FrameSource, write_calibration
from .splits import DEFAULT_FRACTIONS, check_fractions, split_by_segment
from .state import DATASET_FORMAT_VERSION, RunIdentity, check_output_folder, write_state
from .table import Dataset, open_dataset
from .verify import quick_check
from .video import video_missing, write_videos

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class GenerateOptions:
    """How to generate a dataset.

    Attributes:
        n_frames: total frames of the dataset (frame indices ``0 .. n_frames - 1``).
        formats: export formats (already validated, see :func:`synthmouse.dataset.exporters.resolve_formats`).
        frames: only make frames ``a <= i < b`` in this run (``None``: all).
        shard: only make shard ``k`` of ``n`` contiguous blocks (``None``: all).
        image_format: ``png`` or ``jpg``; jpeg_quality: 1..100.
        video: also encode one mp4 per camera; video_crf: 0 lossless RGB, > 0 yuv420p at that CRF.
        split: train, val, test fractions of frames (assigned by motion segment).
    """

    n_frames: int
    formats: tuple[str, ...] = ()
    frames: tuple[int, int] | None = None
    shard: tuple[int, int] | None = None
    image_format: str = "png"
    jpeg_quality: int = 95
    video: bool = False
    video_crf: int = 0
    split: tuple[float, float, float] = DEFAULT_FRACTIONS

    def __post_init__(self) -> None:
        if int(self.n_frames) < 1:
            raise SynthmouseError(f"--frames {self.n_frames}: need at least 1 frame")
        object.__setattr__(self, "image_format", check_image_format(self.image_format, self.jpeg_quality))
        object.__setattr__(self, "split", check_fractions(self.split))
        if self.frames is not None and self.shard is not None:
            raise SynthmouseError("give either --shard or --frames-range, not both")
        if self.frames is not None:
            a, b = self.frames
            if not 0 <= a < b <= self.n_frames:
                raise SynthmouseError(f"--frames-range {a}:{b}: need 0 <= a < b <= {self.n_frames} (--frames)")
        if self.shard is not None:
            k, n = self.shard
            if not (n >= 1 and 0 <= k < n):
                raise SynthmouseError(f"--shard {k}/{n}: need 0 <= k < n")
        if not 0 <= int(self.video_crf) <= 51:
            raise SynthmouseError(f"--video-crf {self.video_crf}: allowed 0 (lossless) .. 51")

    def selected_frames(self) -> range:
        """The frame indices this run is responsible for (a ``range``: constant memory for any count)."""
        if self.frames is not None:
            return range(*self.frames)
        if self.shard is not None:
            k, n = self.shard
            return range(k * self.n_frames // n, (k + 1) * self.n_frames // n)
        return range(self.n_frames)


@dataclass
class GenerateReport:
    """What a run did."""

    root: Path
    n_frames: int
    rendered: int = 0
    done: int = 0
    seconds: float = 0.0
    complete: bool = False
    files: list[Path] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return self.n_frames - self.done

    @property
    def fps(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0


def parse_shard(text: str) -> tuple[int, int]:
    """``"k/n"`` to ``(k, n)``."""
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise SynthmouseError(f"--shard {text!r}: expected k/n, e.g. 0/4") from None
    return k, n


def parse_range(text: str) -> tuple[int, int]:
    """``"a:b"`` to ``(a, b)``."""
    try:
        a, b = (int(v) for v in text.split(":"))
    except ValueError:
        raise SynthmouseError(f"--frames-range {text!r}: expected a:b, e.g. 0:500") from None
    return a, b


def check_seed(seed: int) -> int:
    """``seed`` as an int; raise :class:`SynthmouseError` when it is negative."""
    if int(seed) < 0:
        raise SynthmouseError(f"--seed {seed}: must be a non-negative integer")
    return int(seed)


def run_identity(source: FrameSource, options: GenerateOptions) -> RunIdentity:
    """The identity of the dataset these options make from this source (its metadata and its seed: the
    dataset's only seed; frame ``i`` draws from ``SeedSequence([seed, i, stream])``)."""
    return identity_of(source.meta.scene_name, source.meta.scene_hash, source.seed, options)


def identity_of(scene_name: str, scene_hash: str, seed: int, options: GenerateOptions) -> RunIdentity:
    """The identity of the dataset made from a scene (name, hash), a seed and these options."""
    return RunIdentity(
        synthmouse_version=__version__,
        scene_name=scene_name,
        scene_hash=scene_hash,
        seed=check_seed(seed),
        n_frames=int(options.n_frames),
        image_format=options.image_format,
        jpeg_quality=int(options.jpeg_quality) if options.image_format == "jpg" else 0,
        format_version=DATASET_FORMAT_VERSION,
    )


def generate(
    source: FrameSource, out: str | Path, options: GenerateOptions, progress: Progress | None = None
) -> GenerateReport:
    """Make (or resume) the dataset in ``out``; when every frame exists, export it (:func:`finalize`).

    Raises :class:`OutputError` before writing anything when ``out`` is not usable (a file, not writable, not
    empty with something else, or another dataset). On a write failure (disk full ...) the frame being written
    is removed, finished frames stay (rerun to resume), and a folder this run created with no finished frame
    is removed. On a finished dataset (it has a manifest) whose files no longer match the manifest's names and
    sizes, raises :class:`DatasetDamagedError` and writes nothing.
    """
    if options.video:
        if (reason := video_missing()) is not None:
            raise SynthmouseError(reason)
    root = Path(out)
    meta = source.meta
    identity = run_identity(source, options)
    resuming = check_output_folder(root, identity)
    created = not root.exists()
    layout = DatasetLayout(root, options.n_frames, options.image_format)
    finished = resuming and layout.manifest.is_file()
    store = RowStore(layout.rows_dir)
    report = GenerateReport(root=root, n_frames=options.n_frames)
    start = time.perf_counter()
    try:
        with _translate_os_errors(root):
            if finished:
                _check_finished(root)  # before writing anything: damage is reported, not written over
            if not resuming:
                write_state(layout, identity, meta)
            write_calibration(source, layout.calibration)
            if "parts" in meta.label_images:
                write_parts_legend(layout)
            done = store.done()
            selected = options.selected_frames()
            total = len(selected) - sum(1 for i in done if i in selected)
            for i in selected:  # lazily: memory does not grow with the number of frames
                if i in done:
                    continue
                _make_frame(source, layout, store, i, options)
                report.rendered += 1
                if progress:
                    progress("render", report.rendered, total)
    except BaseException:
        if created and not store.done():
            _remove_started_folder(layout)
        raise
    report.seconds = time.perf_counter() - start
    report.done = _count_done(store, options.n_frames)
    if report.done == options.n_frames:
        with _translate_os_errors(root):
            report.files = finalize(root, options, progress)
        report.complete = True
    return report


def _count_done(store: RowStore, n_frames: int) -> int:
    """Frames ``0 <= i < n_frames`` with a row (memory grows with the rows on disk, not with ``n_frames``)."""
    return sum(1 for i in store.done() if i < n_frames)


def _check_finished(root: Path) -> None:
    """Raise :class:`DatasetDamagedError` when a finished dataset's files no longer have the names and sizes
    its manifest records (the quick check of :mod:`synthmouse.dataset.verify`)."""
    check = quick_check(root)
    if not check.ok:
        raise DatasetDamagedError(
            f"{root}: the finished dataset is damaged: {check.summary()}; nothing was written. "
            f"`synthmouse verify {root}` checks every file in full, `synthmouse verify {root} --repair` removes "
            "what is damaged; then rerun this command to make it again"
        )


def _make_frame(
    source: FrameSource, layout: DatasetLayout, store: RowStore, index: int, options: GenerateOptions
) -> None:
    """Render frame ``index``, write its images then its row; on failure remove the images already written."""
    try:
        result = source.render(index)
    except MemoryError as exc:
        raise _out_of_memory(source.meta, index, "rendering") from exc
    _check_result(result, index, source.meta)
    written: list[Path] = []
    try:
        views = []
        for view in result.views:
            data = encode_image(view.rgb, options.image_format, options.jpeg_quality)
            path = layout.image_path(view.camera, index)
            sha = write_image(path, data)
            written.append(path)
            files = {}
            for kind in source.meta.label_images:
                label_path = layout.label_image_path(kind, view.camera, index)
                label_sha = write_image(label_path, encode_label_image(kind, view))
                written.append(label_path)
                files[kind] = (layout.label_image_rel(kind, view.camera, index), label_sha)
            views.append(camera_row(view, layout.image_rel(view.camera, index), sha, files))
        store.write(frame_row(result, views))
    except BaseException as exc:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(exc, MemoryError):
            raise _out_of_memory(source.meta, index, "writing") from exc
        raise


def _out_of_memory(meta: DatasetMeta, index: int, doing: str) -> SynthmouseError:
    cameras = ", ".join(f"{c.name} {c.width} x {c.height}" for c in meta.cameras)
    return SynthmouseError(
        f"frame {index}: out of memory while {doing} it (cameras {cameras}); finished frames are kept: lower the "
        "cameras' width and height in the scene file, or free memory, and rerun"
    )


def write_parts_legend(layout: DatasetLayout) -> Path:
    """``parts/legend.json``: the body-part id of every value in the part-id images
    (:data:`synthmouse.body.groups.PARTS`); the same bytes on every run."""
    data = {
        "description": "pixel value of parts/<camera>/img*.png -> body part (synthmouse.body.groups.PARTS); "
        "0 is background (no mouse)",
        "parts": [{"id": i, "name": name} for i, name in enumerate(PARTS)],
    }
    with atomic_open(layout.parts_legend, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return layout.parts_legend


def _check_result(result: FrameResult, index: int, meta: DatasetMeta) -> None:
    if result.index != index:
        raise SynthmouseError(f"renderer returned frame {result.index} when asked for frame {index}")
    got = [v.camera for v in result.views]
    want = [c.name for c in meta.cameras]
    if got != want:
        raise SynthmouseError(f"frame {index}: renderer returned cameras {got}, the scene declares {want}")
    for view, cam in zip(result.views, meta.cameras, strict=True):
        h, w = view.rgb.shape[:2]
        if (w, h) != (cam.width, cam.height) or tuple(view.names) != cam.keypoint_names:
            raise SynthmouseError(
                f"frame {index}, camera {cam.name}: got a {w} x {h} image with keypoints "
                f"{list(view.names)[:4]}..., the scene declares {cam.width} x {cam.height} with "
                f"{list(cam.keypoint_names)[:4]}..."
            )


@contextlib.contextmanager
def _translate_os_errors(root: Path):
    """Turn OS write failures (and the HDF5 libraries' reports of them) into :class:`OutputError` naming the
    file and saying how to continue."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        failure = write_failure(exc)
        if failure is None:
            raise
        where = failure.path or root
        if failure.disk_full:
            raise OutputError(
                f"{where}: disk full; finished frames are kept, free some space and rerun the same command to resume"
            ) from exc
        raise OutputError(f"{where}: cannot write ({failure.reason}); rerun the same command to resume") from exc


def _step(root: Path, stage: str, step: Callable[[], list[Path]]) -> list[Path]:
    """Run one step of :func:`finalize`; any failure but a :class:`SynthmouseError` becomes one
    (:func:`_step_failed`): exporters run third-party code (pandas, h5py, pynwb, sleap-io, PyAV)."""
    try:
        return list(step())
    except SynthmouseError:
        raise
    except Exception as exc:
        raise _step_failed(root, stage, exc) from exc


_STEP_NAMES = {
    "tables": "the tables (keypoints3d.csv, frames.csv)",
    "splits": "splits.json",
    "manifest": "manifest.json",
    "video": "the videos",
}


def _step_failed(root: Path, stage: str, exc: Exception) -> SynthmouseError:
    """The one-line error of a failed export step (``stage``: ``tables``, ``splits``, a format name,
    ``video``, ``manifest``)."""
    failure = write_failure(exc)
    what = _STEP_NAMES.get(stage, f"the {stage} export")
    if failure is not None:
        where = f"{_relative(failure.path, root)} ({what})" if failure.path else what
        if failure.disk_full:
            return OutputError(
                f"{root}: disk full while writing {where}; nothing is left half-written and the frames are kept: "
                "free some space and rerun the same command"
            )
        return OutputError(
            f"{root}: cannot write {where}: {failure.reason}; the frames are kept: rerun the same command"
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return SynthmouseError(
        f"{root}: writing {what} failed ({type(exc).__name__}{': ' + first if first else ''}); the frames are "
        "kept and no file was left half-written: rerun the same command (--debug shows the traceback)"
    )


def _relative(path: Path, root: Path) -> str:
    with contextlib.suppress(ValueError):
        return Path(path).absolute().relative_to(Path(root).absolute()).as_posix()
    return str(path)


def finalize(root: str | Path, options: GenerateOptions | None = None, progress: Progress | None = None) -> list[Path]:
    """Merge the per-frame rows of a fully generated dataset into its label files, splits and manifest.

    Every output is a function of the rows, so running this again (or after a kill) gives the same files.
    """
    layout, identity, meta = open_dataset(root)
    n_frames = identity.n_frames
    options = options or GenerateOptions(n_frames=n_frames, image_format=identity.image_format)
    formats = resolve_formats(list(options.formats)) if options.formats else resolve_formats(None)
    done = RowStore(layout.rows_dir).done()
    missing = n_frames - sum(1 for i in done if i < n_frames)
    if missing:
        first = next(i for i in range(n_frames) if i not in done)
        raise OutputError(f"{root}: {missing} frames are not generated yet (first: {first}); rerun generate")
    del done
    _sweep_temporary_files(layout)
    dataset = Dataset(layout=layout, identity=identity, meta=meta, splits={})
    steps: list[tuple[str, Callable[[], list[Path]]]] = [
        ("tables", lambda: [write_keypoints3d(dataset), write_frames_table(dataset)]),
        *[(name, lambda name=name: get_exporter(name).export(dataset)) for name in formats],
    ]
    if options.video:
        steps.append(("video", lambda: write_videos(dataset, options.video_crf)))
    total = len(steps) + 1
    if progress:
        progress("export labels", 0, total)
    dataset.splits = split_by_segment(dataset.table.segments, identity.seed, options.split)
    files = _step(layout.root, "splits", lambda: [write_splits(dataset)])
    for n, (stage, step) in enumerate(steps, start=1):
        if progress:
            progress(f"export {stage}", n, total)
        files += _step(layout.root, stage, step)
    files += _step(layout.root, "manifest", lambda: [write_manifest(dataset, formats, options)])
    if progress:
        progress("export done", total, total)
    return files


def _remove_started_folder(layout: DatasetLayout) -> None:
    """Undo a run that created ``layout.root`` and finished no frame: remove the files it writes first and the
    folders left empty. Anything else (another process's files) is never touched."""
    for path in (layout.state_file, layout.calibration, layout.parts_legend):
        with contextlib.suppress(OSError):
            path.unlink()
    for folder in sorted((p for p in layout.root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only succeeds when empty
    with contextlib.suppress(OSError):
        layout.root.rmdir()


def _sweep_temporary_files(layout: DatasetLayout, max_age_s: float = 3600.0) -> None:
    """Remove temporary files a killed run left behind (``.<name>.<random>.tmp<suffix>``, see
    ``atomic_path``).

    Once every frame exists no process writes images or rows any more, so those folders are swept completely;
    elsewhere (exports) only old temporary files go, as another process may be finalizing the same dataset.
    """
    now = time.time()
    frame_folders = (layout.root / "labeled-data", layout.rows_dir, *(layout.root / kind for kind in LABEL_IMAGES))
    for path in layout.root.rglob(".*.tmp*"):
        with contextlib.suppress(OSError):
            framewise = any(folder in path.parents for folder in frame_folders)
            if path.is_file() and (framewise or now - path.stat().st_mtime > max_age_s):
                path.unlink()
