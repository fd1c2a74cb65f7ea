"""Retarget whole recordings: name maps, observations from prediction files, chunked resumable fits, fit files.

The pieces behind ``synthmouse motion retarget`` (the CLI only parses options and loads cameras, since ``motion`` is
upstream of ``scene``):

* :func:`resolve_keypoint_map` turns a map file (or the default guess) into the keypoint set to fit and the
  prediction files' body-part name of each keypoint;
* :class:`Observations` holds what is fitted: 2D detections ``(C, F, K, 2)`` with the cameras, or 3D targets
  ``(F, K, 3)``;
* :func:`fit_chunked` fits in chunks of frames, each warm-started from the last frame of the chunk before
  (:meth:`PoseFitter.fit2d` ``warm=``), saving every finished chunk atomically in ``<out>.partial/``; a rerun with
  the same inputs continues after the last saved chunk and gives the same result as an uninterrupted run;
* :func:`save_fit` writes the fit file (``.npz``, the arrays of ``motion sample`` plus the errors; layout in
  ``docs/motion/README.md``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..body import Body, KeypointSet, Pose
from ..body.keypoint_sets import _builtin_data
from ..body.rotations import angles_to_matrices
from ..errors import KeypointError, PoseError
from ..fileio import atomic_path, sha256_of
from ..io.yamlio import load_yaml
from .projection import triangulate
from .retarget import PoseFitter

MIN_PLACED = 3  # keypoints needed to place the body in a frame
MAP_FIELDS = ("keypoint_set", "keypoints")


# ---------------------------------------------------------------------------------------------- name maps
@dataclass(frozen=True)
class KeypointMap:
    """Which keypoints are fitted and where they come from.

    Attributes:
        kset: the keypoints fitted (defined on the body), in fitting order.
        parts: ``K`` body-part names in the prediction / 3D files, one per keypoint of ``kset``.
        origin: how the map was made (``"map file x.yaml"`` or ``"default: keypoint set dlc-topview"``).
    """

    kset: KeypointSet
    parts: tuple[str, ...]
    origin: str

    @property
    def mapping(self) -> dict[str, str]:
        return dict(zip(self.kset.names, self.parts, strict=True))


def resolve_keypoint_map(
    body: Body,
    file_parts: list[str] | tuple[str, ...],
    map_file: str | Path | None = None,
    files: str = "the input files",
) -> KeypointMap:
    """The keypoints to fit and their body-part names in the input files.

    Args:
        body: the body.
        file_parts: body-part names found in the input files.
        map_file: a YAML map (see ``docs/motion/README.md``): ``keypoints: {target: part}`` with an optional
            ``keypoint_set:`` (built-in name or keypoint .yaml) whose names the targets may use; targets are
            otherwise body landmarks. A flat mapping ``{target: part}`` is read as ``keypoints:``. Without a map,
            the built-in keypoint set (or the landmark vocabulary) sharing the most names with the files is used.
        files: how to name the input files in errors.
    """
    parts = tuple(dict.fromkeys(file_parts))
    if map_file is None:
        return _default_map(body, parts, files)
    path = Path(map_file)
    if not path.is_file():
        raise KeypointError(f"{path}: map file not found")
    raw = load_yaml(path, error=KeypointError, what="map file")
    if not isinstance(raw, dict) or not raw:
        raise KeypointError(f"{path}: a map must be a mapping 'keypoints: {{target: body-part name}}'")
    if "keypoints" in raw or "keypoint_set" in raw:
        unknown = sorted(set(raw) - set(MAP_FIELDS))
        if unknown:
            raise KeypointError(f"{path}: unknown field(s) {unknown}; allowed: {', '.join(MAP_FIELDS)}")
        entries, set_name = raw.get("keypoints"), raw.get("keypoint_set")
    else:
        entries, set_name = raw, None
    if not isinstance(entries, dict) or not entries:
        raise KeypointError(
            f"{path}: field 'keypoints' must be a non-empty mapping of target name to body-part name, got {entries!r}"
        )
    kset = None
    if set_name is not None:
        if str(set_name).lower().endswith((".yaml", ".yml")) and not Path(set_name).is_absolute():
            set_name = str(path.parent / str(set_name))
        kset = body.keypoint_set(str(set_name))
    defs = {**{n: d for n, d in body.landmarks.items()}, **({d.name: d for d in kset.keypoints} if kset else {})}
    targets, sources = [], []
    for target, part in entries.items():
        target, part = str(target), str(part)
        if target not in defs:
            allowed = (
                f"keypoints of set {set_name!r}: {', '.join(kset.names)}; or body landmarks: "
                if kset
                else "body landmarks (or add 'keypoint_set:'): "
            )
            raise KeypointError(
                f"{path}: keypoints.{target}: unknown target {target!r}; allowed: {allowed}"
                f"{', '.join(sorted(body.landmarks))}"
            )
        if part not in parts:
            raise KeypointError(
                f"{path}: keypoints.{target}: body part {part!r} is not in {files}; they have: {', '.join(parts)}"
            )
        targets.append(defs[target])
        sources.append(part)
    if len(targets) < MIN_PLACED:
        raise KeypointError(f"{path}: map at least {MIN_PLACED} keypoints (got {len(targets)})")
    return KeypointMap(_subset_set(kset, targets, f"map:{path.stem}"), tuple(sources), f"map file {path}")


def _default_map(body: Body, parts: tuple[str, ...], files: str) -> KeypointMap:

    sets = _builtin_data()["sets"]
    overlaps = {name: [n for n in entry["keypoints"] if n in parts] for name, entry in sets.items()}
    landmarks = [p for p in parts if p in body.landmarks]
    best = max(overlaps, key=lambda n: len(overlaps[n]))
    if len(landmarks) >= max(MIN_PLACED, len(overlaps[best])):
        kset = KeypointSet("landmarks", tuple(body.landmarks[n] for n in landmarks))
        return KeypointMap(kset, tuple(landmarks), "default: body landmarks named as in the files")
    if len(overlaps[best]) >= MIN_PLACED:
        full = body.keypoint_set(best)
        chosen = [d for d in full.keypoints if d.name in overlaps[best]]
        kset = _subset_set(full, chosen, best)
        return KeypointMap(kset, kset.names, f"default: keypoint set {best}")
    raise KeypointError(
        f"{files}: body parts {list(parts)} match no keypoint set and fewer than {MIN_PLACED} body landmarks; "
        f"write a map file (--map) 'keypoints: {{target: body part}}' whose targets are body landmarks "
        f"({', '.join(sorted(body.landmarks))}) or, with 'keypoint_set: NAME', keypoints of one of the sets "
        f"{', '.join(sets)}"
    )


def _subset_set(kset: KeypointSet | None, defs: list, name: str) -> KeypointSet:
    names = {d.name for d in defs}
    edges = tuple((a, b) for a, b in (kset.edges if kset else ()) if a in names and b in names)
    return KeypointSet(name, tuple(defs), edges)


# ---------------------------------------------------------------------------------------------- observations
@dataclass(frozen=True)
class Observations:
    """What is fitted, frame by frame.

    Attributes:
        kind: ``"2d"`` (pixels in calibrated cameras) or ``"3d"`` (metres).
        frames: ``(F,) int`` source frame indices.
        pixels: ``(C, F, K, 2)`` detections (2D), NaN where missing.
        targets: ``(F, K, 3)`` metres (3D), NaN where missing.
        confidence: ``(C, F, K)`` (2D) or ``(F, K)`` (3D) in [0, 1].
        cameras: ``C`` camera-like objects (2D).
    """

    kind: str
    frames: np.ndarray
    confidence: np.ndarray
    pixels: np.ndarray | None = None
    targets: np.ndarray | None = None
    cameras: tuple = ()

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def window(self, a: int, b: int) -> Observations:
        """Frames ``a..b-1`` (positions, not source indices)."""
        if self.kind == "3d":
            return replace(self, frames=self.frames[a:b], targets=self.targets[a:b], confidence=self.confidence[a:b])
        return replace(self, frames=self.frames[a:b], pixels=self.pixels[:, a:b], confidence=self.confidence[:, a:b])


def stack_views(views: list, n_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels (C, F, K, 2), confidence (C, F, K))`` from the selected
    :class:`~synthmouse.io.labels.LabelledFrames` of each camera; shorter files are padded with missing
    detections to the longest (or to ``n_frames``)."""
    n = n_frames or max(v.xy.shape[0] for v in views)
    k = views[0].xy.shape[1]
    pixels = np.full((len(views), n, k, 2), np.nan)
    conf = np.zeros((len(views), n, k))
    for c, v in enumerate(views):
        m = min(n, v.xy.shape[0])
        pixels[c, :m], conf[c, :m] = v.xy[:m], v.confidence[:m]
    return pixels, conf


def parse_frame_range(text: str | None, n_frames: int, where: str = "--frames") -> tuple[int, int]:
    """``"A:B"`` (B exclusive; either may be empty) to ``(a, b)`` inside ``0..n_frames``."""
    if text is None or text.strip() in ("", ":"):
        return 0, n_frames
    try:
        a_text, b_text = text.split(":")
        a = int(a_text) if a_text.strip() else 0
        b = int(b_text) if b_text.strip() else n_frames
    except ValueError:
        raise KeypointError(f"{where}: {text!r} is not a range 'A:B' of frame indices (B exclusive)") from None
    if not 0 <= a < b <= n_frames:
        raise KeypointError(f"{where}: range {text!r} must satisfy 0 <= A < B <= {n_frames} (the files' frames)")
    return a, b


# ---------------------------------------------------------------------------------------------- placement
def initial_poses(fitter: PoseFitter, obs: Observations, min_confidence: float, warm: Pose | None = None) -> Pose:
    """``F``-frame starting poses: the standing posture placed per frame on the observed keypoints (triangulated
    from two or more views, or for one view back-projected onto horizontal planes at each keypoint's standing
    height above the floor ``z = 0``; or the 3D targets). Frames with fewer than 3 placed keypoints take the
    placement of the nearest frame that has them (or of ``warm``)."""
    posture = fitter.rig.standing
    ref = posture.pose(1)
    n = obs.n_frames
    points, weights = _placement_points(fitter, obs, ref, min_confidence)
    roots = np.full((n, 4, 4), np.nan)
    for f in range(n):
        if (weights[f] > 0).sum() >= MIN_PLACED:
            roots[f] = fitter.initial_root(points[f : f + 1], weights[f : f + 1], ref)[0]
    placed = np.flatnonzero(np.isfinite(roots[:, 0, 0]))
    if placed.size == 0:
        if warm is None:
            one_view = obs.kind == "2d" and len(obs.cameras) == 1
            hint = (
                (
                    f"; with one camera ({getattr(obs.cameras[0], 'name', 'camera')}) the body is placed where the "
                    "rays meet the floor z = 0 of the calibration's world, and these rays do not (a view along the "
                    "floor, or a world that is not z up): add a second camera"
                )
                if one_view
                else ""
            )
            raise PoseError(
                f"frames {int(obs.frames[0])}..{int(obs.frames[-1])}: no frame has {MIN_PLACED} "
                f"keypoints placed (confidence >= {min_confidence}); cannot place the body{hint}"
            )
        roots[:] = warm.root[-1]
    else:
        nearest = placed[np.abs(np.arange(n)[:, None] - placed[None]).argmin(axis=1)]
        roots = roots[nearest]
    return Pose(roots, angles_to_matrices(np.broadcast_to(posture.angles, (n,) + posture.angles.shape).copy()))


def _placement_points(fitter: PoseFitter, obs: Observations, ref: Pose, min_confidence: float):
    if obs.kind == "3d":
        w = np.where(np.isfinite(obs.targets).all(-1) & (obs.confidence >= min_confidence), obs.confidence, 0.0)
        return np.nan_to_num(obs.targets), w
    conf = np.where(np.isfinite(obs.pixels).all(-1) & (obs.confidence >= min_confidence), obs.confidence, 0.0)
    if len(obs.cameras) >= 2:
        pts = np.stack([triangulate(obs.cameras, obs.pixels[:, f], conf[:, f]) for f in range(obs.n_frames)])
        w = np.where(np.isfinite(pts).all(-1), conf.mean(axis=0), 0.0)
        return np.nan_to_num(pts), w
    heights = fitter.body.keypoints(ref, fitter.kset)[0, :, 2]
    pts = floor_backprojection(obs.cameras[0], obs.pixels[0], heights)
    w = np.where(np.isfinite(pts).all(-1), conf[0], 0.0)
    return np.nan_to_num(pts), w


def floor_backprojection(camera, pixels: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """``(F, K, 3)`` points where the rays through ``pixels (F, K, 2)`` meet the planes ``z = heights (K,)``
    (world z up); NaN where a ray misses its plane in front of the camera or runs nearly parallel to it."""
    R, t = np.asarray(camera.R, np.float64), np.asarray(camera.t, np.float64).ravel()
    centre = -R.T @ t
    flat = np.nan_to_num(pixels.reshape(-1, 2))
    norm = camera.undistort_points(flat, output="normalized").reshape(pixels.shape)
    rays = np.concatenate([norm, np.ones(pixels.shape[:-1] + (1,))], -1) @ R  # (F, K, 3) world directions
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (heights[None, :] - centre[2]) / rays[..., 2]
    ok = np.isfinite(pixels).all(-1) & (np.abs(rays[..., 2]) > 0.1) & (s > 0)
    out = centre + s[..., None] * rays
    out[~ok] = np.nan
    return out


# ---------------------------------------------------------------------------------------------- chunked fits
@dataclass(frozen=True)
class ChunkResult:
    """One fitted chunk: ``angles (n, J, 3)``, ``root (n, 4, 4)``, ``keypoints (n, K, 3)``, ``error (n,)`` (mean
    over observed keypoints, px or m), ``per_keypoint (n, K)``, ``success (n,)``."""

    angles: np.ndarray
    root: np.ndarray
    keypoints: np.ndarray
    error: np.ndarray
    per_keypoint: np.ndarray
    success: np.ndarray

    FIELDS = ("angles", "root", "keypoints", "error", "per_keypoint", "success")

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self.FIELDS}

    @classmethod
    def concatenate(cls, chunks: list[ChunkResult]) -> ChunkResult:
        return cls(*(np.concatenate([getattr(c, k) for c in chunks]) for k in cls.FIELDS))

    def last_pose(self) -> Pose:
        return Pose(self.root[-1:], angles_to_matrices(self.angles[-1:]))


def fit_chunk(fitter: PoseFitter, obs: Observations, min_confidence: float, warm: Pose | None) -> ChunkResult:
    """Fit one chunk of frames, starting from ``warm`` (the previous chunk's last frame) when given."""
    init = initial_poses(fitter, obs, min_confidence, warm)
    if obs.kind == "3d":
        w = np.where(obs.confidence >= min_confidence, obs.confidence, 0.0)
        result = fitter.fit3d(obs.targets, w, init=init, warm=warm)
    else:
        result = fitter.fit2d(
            list(obs.cameras), obs.pixels, obs.confidence, init=init, min_confidence=min_confidence, warm=warm
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without observations: NaN error
        error = np.nanmean(result.per_keypoint, axis=1)
    n = obs.n_frames
    return ChunkResult(
        result.pose.angles, result.pose.root, result.keypoints, error, result.per_keypoint, np.full(n, result.success)
    )


def fit_chunked(
    fitter: PoseFitter,
    obs: Observations,
    partial: Path,
    fingerprint: str,
    chunk_frames: int = 50,
    min_confidence: float = 0.1,
    progress: Callable[[int, int, bool], None] | None = None,
    stop_after: int | None = None,
) -> ChunkResult | None:
    """Fit all frames in chunks of ``chunk_frames``, saving each chunk atomically in the folder ``partial``.

    Chunks already saved there under the same ``fingerprint`` (the inputs and options) are loaded instead of
    fitted; a different fingerprint discards them. Each chunk starts from the last frame of the chunk before (as
    saved), so an interrupted and resumed run equals an uninterrupted one.

    Args:
        progress: called as ``progress(frames_done, n_frames, resumed)`` after each chunk.
        stop_after: stop after fitting this many new chunks and return None (a test hook for resuming).

    Returns:
        All frames, or None when stopped early.
    """
    n = obs.n_frames
    starts = list(range(0, n, chunk_frames))
    _prepare_partial(partial, fingerprint)
    chunks: list[ChunkResult] = []
    fitted = 0
    for c, a in enumerate(starts):
        b = min(n, a + chunk_frames)
        path = partial / f"chunk_{c:06d}.npz"
        resumed = path.is_file()
        if resumed:
            with np.load(path) as data:
                chunk = ChunkResult(*(data[k] for k in ChunkResult.FIELDS))
        else:
            if stop_after is not None and fitted >= stop_after:
                return None
            warm = chunks[-1].last_pose() if chunks else None
            chunk = fit_chunk(fitter, obs.window(a, b), min_confidence, warm)
            with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                np.savez(handle, **chunk.arrays())
            fitted += 1
        chunks.append(chunk)
        if progress is not None:
            progress(b, n, resumed)
    return ChunkResult.concatenate(chunks)


def _prepare_partial(partial: Path, fingerprint: str) -> None:
    meta = partial / "meta.json"
    if partial.is_dir():
        try:
            same = json.loads(meta.read_text()).get("fingerprint") == fingerprint
        except (OSError, ValueError):
            same = False
        if same:
            return
        for old in partial.glob("chunk_*.npz"):
            old.unlink()
    partial.mkdir(parents=True, exist_ok=True)
    with atomic_path(meta) as tmp:
        tmp.write_text(json.dumps({"fingerprint": fingerprint}))


def remove_partial(partial: Path) -> None:
    """Delete the chunk folder after the fit file is written (only the files this module writes)."""
    for old in partial.glob("chunk_*.npz"):
        old.unlink()
    (partial / "meta.json").unlink(missing_ok=True)
    if partial.is_dir() and not any(partial.iterdir()):
        shutil.rmtree(partial)


def fingerprint_of(files: list[Path], options: dict) -> str:
    """A hash of the input files' bytes and the fitting options (JSON-serialisable)."""

    digest = hashlib.sha256()
    for path in files:
        digest.update(str(Path(path).name).encode())
        digest.update(sha256_of(path).encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------- fit files
def save_fit(
    path: Path,
    body: Body,
    kmap: KeypointMap,
    obs: Observations,
    result: ChunkResult,
    fps: float,
    sources: list[str],
    camera_names: list[str],
    calibration: str,
    model: str,
) -> None:
    """Write the fit file atomically (``docs/motion/README.md`` lists the arrays)."""
    error_unit = "px" if obs.kind == "2d" else "m"
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle,
            root=result.root,
            angles=result.angles,
            fps=float(fps),
            start=int(obs.frames[0]),
            frames=obs.frames.astype(np.int64),
            joints=np.array(body.skeleton.names),
            keypoints=result.keypoints,
            keypoint_names=np.array(kmap.kset.names),
            keypoint_parts=np.array(kmap.parts),
            error=result.error,
            per_keypoint=result.per_keypoint,
            error_unit=error_unit,
            success=result.success,
            kind=obs.kind,
            sources=np.array(sources),
            cameras=np.array(camera_names, dtype=str),
            calibration=calibration,
            model=model,
            map=kmap.origin,
            units="root and keypoints: metres; angles: radians (flex, lateral, "
            f"twist); error and per_keypoint: {error_unit}",
        )


def error_summary(result: ChunkResult, frames: np.ndarray, kind: str, worst: int = 5) -> list[str]:
    """Lines for the terminal: frames, mean and median error (px for 2D, mm for 3D), the worst frames."""
    scale, unit = (1.0, "px") if kind == "2d" else (1000.0, "mm")
    err = result.error * scale
    ok = np.isfinite(err)
    lines = [f"{len(err)} frames fitted ({int((~ok).sum())} without observations)"]
    if ok.any():
        lines.append(f"keypoint error: mean {np.mean(err[ok]):.3g} {unit}, median {np.median(err[ok]):.3g} {unit}")
        order = np.flatnonzero(ok)[np.argsort(err[ok])[::-1][:worst]]
        lines.append("worst frames: " + ", ".join(f"{int(frames[i])} ({err[i]:.3g} {unit})" for i in order))
    if not result.success.all():
        lines.append(
            f"{int((~result.success).sum())} frames lie in chunks where the optimiser stopped at its "
            "evaluation limit (judge them by their error)"
        )
    return lines
