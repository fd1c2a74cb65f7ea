"""The realism report: one self-contained HTML page (images inline as base64) and the same numbers in JSON.

:func:`build_report` loads a synthetic dataset and the real data, runs every measure of this package and turns
the results into sections, each with its numbers, plots, galleries and a plain-language verdict;
:func:`write_report` writes ``report.html``, ``report.json`` beside it and optionally a summary PNG.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..fileio import atomic_open, atomic_path
from . import figures as F
from .classifier import ClassifierConfig, ClassifierResult, centre_crop, domain_classifier_test
from .coverage import PoseCoverage, match_keypoints, pose_coverage, shared_keypoints
from .errors import MetricsError
from .fidelity import (
    FidelityResult,
    WeightsUnavailableError,
    image_fidelity,
    inception_extractor,
    paired_images,
    ssim_pairs,
)
from .frames import FrameSet, ProgressFn, load_frame_set, render_masks, sessions_of
from .imagestats import StatisticComparison, compare_statistics, image_statistics
from .provenance import SyntheticProvenance, next_step, synthetic_provenance

LogFn = Callable[[str], None]
LEVELS = {"good": "#2e7d32", "fair": "#ef6c00", "poor": "#c62828", "skipped": "#757575"}


@dataclass
class ReportOptions:
    """What :func:`build_report` measures and how.

    Attributes:
        camera: the synthetic camera (``labeled-data/synth_<camera>``); needed when the dataset has several.
        max_frames: at most this many frames of each set (evenly spaced).
        real_labels: keypoint table for the real frames (DeepLabCut predictions on a video, or labels).
        mapping: ``{real keypoint: synthetic keypoint}`` on top of the automatic matching.
        radius: pose-coverage radius (units of pose size, see :mod:`.coverage`).
        coverage: measure pose coverage (needs labels on both sides).
        fidelity: measure KID/FID.
        inception_weights, download: where the InceptionV3 weights come from (see :mod:`.fidelity`).
        feature_extractor, feature_network: a custom ``(B, 3, H, W) uint8 -> (B, D)`` module replacing
            InceptionV3, and its name for the report.
        translated: folder of translated renders (same file names) for SSIM.
        gallery: frames per gallery.
    """

    camera: str | None = None
    max_frames: int = 400
    real_labels: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    radius: float = 0.15
    coverage: bool = True
    fidelity: bool = True
    inception_weights: Path | None = None
    download: bool = True
    feature_extractor: Any = None
    feature_network: str = "InceptionV3 pool3 (2048 features, torch-fidelity weights)"
    kid_subsets: int = 100
    translated: Path | None = None
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    gallery: int = 8
    seed: int = 0


@dataclass
class Section:
    key: str
    title: str
    level: str  # good | fair | poor | skipped
    verdict: str
    body: str = ""


@dataclass
class Report:
    """A built report: the sections (HTML bodies), the numbers (JSON) and the summary figure (PNG bytes)."""

    sections: list[Section]
    numbers: dict
    summary_png: bytes | None
    title: str = "synthmouse realism report"

    def html(self) -> str:
        return render_html(self)


# ---------------------------------------------------------------------------------------------- inputs
def load_inputs(
    synthetic: str | Path, real: str | Path, options: ReportOptions, progress: ProgressFn | None = None
) -> tuple[FrameSet, FrameSet]:
    """The synthetic camera's frames and the real frames (see :func:`load_frame_set`).

    Raises:
        MetricsError: missing folders, no images, an unknown or ambiguous camera.
    """
    synthetic = Path(synthetic)
    if not synthetic.is_dir():
        raise MetricsError(f"synthetic dataset {synthetic}: no such folder")
    session = synthetic_session(synthetic, options.camera)
    syn = load_frame_set(synthetic, "synthetic", session=session, max_frames=options.max_frames, progress=progress)
    real_set = load_frame_set(
        real, "real", max_frames=options.max_frames, labels=options.real_labels, progress=progress
    )
    return syn, real_set


def synthetic_session(root: Path, camera: str | None) -> str | None:
    """The ``labeled-data`` folder of ``camera`` (``synth_<camera>`` or the folder itself) in ``root``."""
    sessions = sessions_of(root)
    cameras = [s.removeprefix("synth_") for s in sessions]
    if camera is None:
        if len(sessions) > 1:
            raise MetricsError(
                f"synthetic dataset {root}: several cameras ({', '.join(cameras)}); choose one with --camera"
            )
        return sessions[0] if sessions else None
    for candidate in (f"synth_{camera}", camera):
        if candidate in sessions:
            return candidate
    raise MetricsError(f"synthetic dataset {root}: no camera {camera!r}; cameras: {', '.join(cameras) or 'none'}")


def coverage_pairs(real: FrameSet, synthetic: FrameSet, mapping: dict[str, str]) -> list[tuple[str, str]]:
    """Shared keypoints for pose coverage, checked before any long step.

    Raises:
        MetricsError: a set without labels, an unknown name in ``mapping``, fewer than 3 shared keypoints.
    """
    if not real.has_labels:
        raise MetricsError(
            f"real data {real.source}: no keypoint labels, and pose coverage needs them: use a labelled "
            "DeepLabCut folder (CollectedData_*.csv), pass --real-labels FILE (e.g. DeepLabCut predictions for "
            "the video), or --no-coverage"
        )
    if not synthetic.has_labels:
        raise MetricsError(
            f"synthetic dataset {synthetic.source}: no keypoint labels found (CollectedData_*.csv "
            "or .synthmouse/rows); pass --no-coverage to skip pose coverage"
        )
    pairs = match_keypoints(real.keypoint_names, synthetic.keypoint_names, mapping)
    if len(pairs) < 3:
        raise MetricsError(
            f"pose coverage needs at least 3 keypoints shared by both sets; matched {pairs or 'none'}. Real "
            f"keypoints: {', '.join(real.keypoint_names)}; synthetic: {', '.join(synthetic.keypoint_names)}. "
            "Name the pairs with --map REAL=SYNTHETIC (e.g. --map snout=nose)"
        )
    return pairs


# ---------------------------------------------------------------------------------------------- build
def build_report(
    synthetic: str | Path,
    real: str | Path,
    options: ReportOptions | None = None,
    progress: ProgressFn | None = None,
    log: LogFn | None = None,
) -> Report:
    """Measure the synthetic dataset against the real data and assemble the report.

    Raises:
        MetricsError: bad inputs (raised before the long steps start).
    """
    options = options or ReportOptions()
    log = log or (lambda message: None)
    syn, real_set = load_inputs(synthetic, real, options, progress)
    pairs = coverage_pairs(real_set, syn, options.mapping) if options.coverage else None
    extractor, fidelity_error = _feature_extractor(options)
    if fidelity_error and options.fidelity:
        log(fidelity_error)
    session = synthetic_session(Path(synthetic), options.camera)
    provenance = synthetic_provenance(synthetic, session.removeprefix("synth_") if session else options.camera)
    numbers: dict[str, Any] = {
        "synthmouse_version": _version(),
        "inputs": _inputs_json(syn, real_set, options),
        "provenance": provenance.to_json(),
    }
    sections = [_section_inputs(syn, real_set, provenance)]

    fidelity = None
    if extractor is not None:
        fidelity = image_fidelity(
            real_set, syn, extractor, options.feature_network, options.kid_subsets, seed=options.seed, progress=progress
        )
    sections.append(_section_fidelity(fidelity, fidelity_error))
    numbers["fidelity"] = fidelity.to_json() if fidelity else {"skipped": fidelity_error}

    clf = domain_classifier_test(real_set, syn, options.classifier, progress)
    sections.append(_section_classifier(clf, syn, real_set, options.gallery, provenance))
    numbers["classifier"] = clf.to_json()
    order = np.argsort(clf.p_real_synthetic)
    numbers["realism_scores"] = [
        {"frame": syn.keys[i], "p_real": round(float(clf.p_real_synthetic[i]), 4)} for i in order
    ]

    cov = None
    if pairs is not None:
        if progress:
            progress("pose coverage", 0, 1)
        cov = pose_coverage(
            shared_keypoints(real_set.keypoints, real_set.keypoint_names, [p[0] for p in pairs]),
            shared_keypoints(syn.keypoints, syn.keypoint_names, [p[1] for p in pairs]),
            pairs,
            options.radius,
        )
        if progress:
            progress("pose coverage", 1, 1)
        numbers["coverage"] = cov.to_json(real_set.keys)
    else:
        numbers["coverage"] = {"skipped": "--no-coverage"}
    sections.append(_section_coverage(cov, real_set, syn, options.gallery))

    stats_real = image_statistics(real_set, render_masks(real_set), progress=progress)
    stats_syn = image_statistics(syn, render_masks(syn), progress=progress)
    comparisons = compare_statistics(stats_real, stats_syn)
    sections.append(_section_statistics(comparisons, stats_real, stats_syn, real_set, provenance))
    numbers["image_statistics"] = [c.to_json() for c in comparisons]

    ssim = None
    if options.translated is not None:
        renders, translated, keys = paired_images(syn, options.translated)
        ssim = (ssim_pairs(renders, translated), keys)
        numbers["ssim"] = {
            "n_pairs": len(keys),
            "mean": float(np.mean(ssim[0])),
            "median": float(np.median(ssim[0])),
            "min": float(np.min(ssim[0])),
            "per_frame": {k: round(float(v), 4) for k, v in zip(keys, ssim[0], strict=True)},
        }
    else:
        numbers["ssim"] = {"skipped": "no --translated folder given"}
    sections.append(_section_ssim(ssim))

    numbers["verdicts"] = {s.key: {"level": s.level, "verdict": s.verdict} for s in sections if s.key != "inputs"}
    summary = summary_figure(syn, real_set, clf, cov, comparisons, stats_real, stats_syn, fidelity)
    return Report(sections=sections, numbers=_clean(numbers), summary_png=summary)


def write_report(report: Report, out: str | Path, summary_png: str | Path | None = None) -> dict[str, Path]:
    """Write ``out`` (HTML), ``out`` with suffix ``.json`` and, if asked, the summary PNG (atomically)."""
    out = Path(out)
    written = {"html": out, "json": out.with_suffix(".json")}
    with atomic_open(out, "w", encoding="utf-8") as fh:
        fh.write(report.html())
    with atomic_open(written["json"], "w", encoding="utf-8") as fh:
        json.dump(report.numbers, fh, indent=1)
    if summary_png is not None and report.summary_png is not None:
        with atomic_path(summary_png) as tmp:
            Path(tmp).write_bytes(report.summary_png)
        written["png"] = Path(summary_png)
    return written


def _feature_extractor(options: ReportOptions) -> tuple[Any, str | None]:
    if not options.fidelity:
        return None, "KID/FID switched off (--no-fid)"
    if options.feature_extractor is not None:
        return options.feature_extractor, None
    try:
        return inception_extractor(options.inception_weights, options.download), None
    except WeightsUnavailableError as exc:
        return None, str(exc)


def _version() -> str:

    return str(__version__)


def _inputs_json(syn: FrameSet, real: FrameSet, options: ReportOptions) -> dict:
    return {
        "synthetic": str(syn.source.resolve()),
        "real": str(real.source.resolve()),
        "camera": options.camera,
        "n_synthetic": len(syn),
        "n_real": len(real),
        "synthetic_size": list(syn.size),
        "real_size": list(real.size),
        "synthetic_keypoints": list(syn.keypoint_names),
        "real_keypoints": list(real.keypoint_names),
        "max_frames": options.max_frames,
        "seed": options.seed,
    }


def _clean(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    return value


# ---------------------------------------------------------------------------------------------- sections
def _img(data: bytes, mime: str = "image/png", alt: str = "", width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return f'<img alt="{html.escape(alt)}"{size} src="data:{mime};base64,{base64.b64encode(data).decode("ascii")}">'


def _tile(image: np.ndarray, caption: str, width: int = 220) -> str:
    return (
        f"<figure>{_img(F.jpeg_bytes(F.thumbnail(image, width)), 'image/jpeg', caption)}"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table(rows: list[tuple], header: tuple | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header) if header else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>"


def _section_inputs(syn: FrameSet, real: FrameSet, provenance: SyntheticProvenance | None = None) -> Section:
    picks_r = np.linspace(0, len(real) - 1, min(4, len(real))).round().astype(int)
    picks_s = np.linspace(0, len(syn) - 1, min(4, len(syn))).round().astype(int)
    tiles = "".join(_tile(real.images[i], f"real {real.keys[i]}") for i in picks_r)
    tiles += "".join(_tile(syn.images[i], f"synthetic {syn.keys[i]}") for i in picks_s)
    rows = [
        ("synthetic", syn.source, len(syn), f"{syn.size[0]}x{syn.size[1]}", ", ".join(syn.keypoint_names)),
        ("real", real.source, len(real), f"{real.size[0]}x{real.size[1]}", ", ".join(real.keypoint_names)),
    ]
    body = _table(rows, ("set", "source", "frames", "size", "keypoints"))
    if provenance is not None and provenance.known:
        body += _table(
            [
                ("appearance profile", provenance.appearance_profile or "none"),
                ("randomized", ", ".join(provenance.randomized) or "nothing"),
            ],
            ("synthetic set", ""),
        )
    body += f'<div class="gallery">{tiles}</div>'
    return Section("inputs", "Inputs", "skipped", "What was compared (frames are grayscale, evenly spaced).", body)


def _section_fidelity(result: FidelityResult | None, error: str | None) -> Section:
    title = "KID and FID (pretrained image features)"
    if result is None:
        return Section("fidelity", title, "skipped", f"Not measured: {error}")
    kid, base = result.kid, result.kid_real_halves
    close = kid.mean <= base.mean + 2 * max(kid.std, base.std, 1e-12)
    ratio = kid.mean / base.mean if base.mean > 0 else float("inf")
    if close:
        level, verdict = (
            "good",
            (
                f"KID {kid.mean:.4f} ± {kid.std:.4f} is within two standard errors of the value "
                f"two halves of the real set give ({base.mean:.4f} ± {base.std:.4f}): the "
                "feature statistics of the synthetic frames match the real ones."
            ),
        )
    else:
        level = "fair" if ratio < 5 else "poor"
        verdict = (
            f"KID {kid.mean:.4f} ± {kid.std:.4f} against {base.mean:.4f} ± {base.std:.4f} between two "
            f"halves of the real set ({ratio:.1f} times that floor): the {result.feature_network} features "
            "of synthetic and real frames differ."
        )
    rows = [
        ("KID (synthetic vs real)", f"{kid.mean:.5f}", f"{kid.std:.5f}", kid.subset_size),
        ("KID (real half vs real half)", f"{base.mean:.5f}", f"{base.std:.5f}", base.subset_size),
        ("FID (synthetic vs real)", f"{result.fid:.2f}", "", ""),
        ("FID (real half vs real half)", f"{result.fid_real_halves:.2f}", "", ""),
    ]
    body = (
        _table(rows, ("measure", "value", "std over subsets", "subset size"))
        + f"<p>Features: {html.escape(result.feature_network)}; {result.n_real} real and {result.n_synthetic} "
        "synthetic frames. KID is unbiased; FID is biased upwards for small sets (compare it only with the "
        "real-vs-real floor computed on sets of similar size).</p>"
    )
    return Section("fidelity", title, level, verdict, body)


def classifier_verdict(
    accuracy: float, p_value: float, auc: float, provenance: SyntheticProvenance | None = None
) -> tuple[str, str]:
    """``(level, verdict)`` of the domain classifier, with the next step that fits how the synthetic set was made
    (:func:`synthmouse.metrics.provenance.next_step`: never "fit a profile" when one is applied)."""
    acc, p = accuracy, p_value
    if acc < 0.6 or p >= 0.05:
        return "good", (
            f"A small CNN trained to tell them apart reaches {100 * acc:.0f} % held-out accuracy "
            f"(permutation p = {p:.3g}): it cannot reliably tell synthetic from real frames."
        )
    advice = next_step(provenance or SyntheticProvenance())
    if acc < 0.8:
        return "fair", (
            f"A small CNN tells synthetic from real frames {100 * acc:.0f} % of the time (p = {p:.3g}; "
            "50 % would be chance): partly distinguishable. The gallery shows what gives them away. " + advice
        )
    untreated = (
        provenance is not None
        and provenance.known
        and provenance.appearance_profile is None
        and not provenance.randomized
    )
    return "poor", (
        f"A small CNN trained for seconds tells synthetic from real frames {100 * acc:.0f} % of the "
        f"time (AUC {auc:.2f}, p = {p:.3g}): they are easy to tell apart"
        + (" (expected for untreated renders). " if untreated else ". ")
        + advice
        + " The maps below show where the network looks."
    )


def _section_classifier(
    result: ClassifierResult,
    syn: FrameSet,
    real: FrameSet,
    n_gallery: int,
    provenance: SyntheticProvenance | None = None,
) -> Section:
    acc, p = result.accuracy, result.p_value
    level, verdict = classifier_verdict(acc, p, result.auc, provenance)
    order = np.argsort(result.p_real_synthetic)[:n_gallery]
    maps = result.activation_maps(syn.images, "synthetic", order)
    tiles = "".join(
        _tile(
            F.heat_overlay(centre_crop(syn.images[i], result.input_size), maps[j]),
            f"{syn.keys[i]}  p(real) = {result.p_real_synthetic[i]:.3f}",
        )
        for j, i in enumerate(order)
    )
    best = np.argsort(-result.p_real_synthetic)[: max(1, n_gallery // 2)]
    best_tiles = "".join(
        _tile(syn.images[i], f"{syn.keys[i]}  p(real) = {result.p_real_synthetic[i]:.3f}") for i in best
    )
    hist = F.png_bytes(F.realism_histogram(result.p_real_real, result.p_real_synthetic))
    rows = [
        ("held-out balanced accuracy", f"{100 * acc:.1f} %"),
        ("ROC AUC", f"{result.auc:.3f}"),
        ("permutation p-value", f"{p:.4g} ({result.permutations} permutations)"),
        ("input", f"{result.input_size[0]}x{result.input_size[1]} grayscale"),
        (
            "folds / epochs",
            f"{result.config.folds} / {result.epochs_run}"
            + (" (stopped by the time budget)" if result.stopped_early else ""),
        ),
        ("training time", f"{result.seconds:.1f} s"),
    ]
    body = (
        _table(rows)
        + _img(hist, alt="realism scores")
        + "<h3>Least realistic synthetic frames</h3><p>Realism score = the held-out probability of being "
        'real. Colour: where the classifier\'s evidence for "synthetic" lies (class activation map).</p>'
        f'<div class="gallery">{tiles}</div><h3>Most realistic synthetic frames</h3>'
        f'<div class="gallery">{best_tiles}</div>'
    )
    return Section("classifier", "Domain classifier (no pretrained weights)", level, verdict, body)


def _section_coverage(cov: PoseCoverage | None, real: FrameSet, syn: FrameSet, n_gallery: int) -> Section:
    title = "Pose coverage"
    if cov is None:
        return Section("coverage", title, "skipped", "Not measured (--no-coverage).")
    frac = cov.fraction_uncovered
    n_unc = int(cov.uncovered.sum())
    real_mean, syn_mean, offset = cov.mean_shapes()
    names = [p[0] for p in cov.pairs]
    if frac <= 0.05:
        level = "good"
        verdict = (
            f"{100 * (1 - frac):.0f} % of the real poses have a synthetic pose within {cov.radius:g} "
            f"(pose-size units): the synthetic motion covers the real postures."
        )
    else:
        level = "fair" if frac <= 0.25 else "poor"
        verdict = (
            f"{n_unc} of {int(cov.real_valid.sum())} real poses ({100 * frac:.0f} %) have no synthetic "
            f"pose within {cov.radius:g}: add these postures to the motion mix (listed below)."
        )
    if offset > cov.radius / 2:
        verdict += (
            f" The mean synthetic pose differs from the mean real pose by {offset:.2f}: a systematic "
            "difference, often two definitions of a keypoint (ear tip against ear base) or a body "
            "proportion, rather than missing postures; check the keypoint mapping."
        )
    edges = _edges(syn, cov.pairs)
    real_2d, syn_2d, explained = cov.embedding()
    unc_valid = cov.uncovered[cov.real_valid]
    plots = (
        _img(F.png_bytes(F.pose_scatter(real_2d, syn_2d, unc_valid, explained)), alt="pose space")
        + _img(F.png_bytes(F.distance_histogram(cov.distance, cov.real_nn_distance, cov.radius)), alt="distances")
        + _img(F.png_bytes(F.mean_shapes(real_mean, syn_mean, names, edges)), alt="mean shapes")
    )
    order = np.flatnonzero(cov.uncovered)[np.argsort(-cov.distance[cov.uncovered])]
    tiles = ""
    real_xy = shared_keypoints(real.keypoints, real.keypoint_names, names)
    for i in order[:n_gallery]:
        near = cov.nearest_pose_on_real(int(i))
        drawn = F.draw_poses(real.images[i], [real_xy[i], near], [(40, 200, 40), (230, 40, 200)], edges)
        tiles += _tile(
            F.crop_around(drawn, np.concatenate([real_xy[i], near])),
            f"{real.keys[i]}  d = {cov.distance[i]:.2f}",
            width=200,
        )
    listing = (
        _table(
            [(real.keys[i], f"{cov.distance[i]:.3f}", syn.keys[cov.nearest[i]]) for i in order],
            ("real frame", "distance", "nearest synthetic frame"),
        )
        if len(order)
        else "<p>None.</p>"
    )
    d = cov.distance[cov.real_valid]
    rows = [
        ("keypoints (real = synthetic)", ", ".join(f"{a}={b}" for a, b in cov.pairs)),
        ("real poses / skipped (missing keypoints)", f"{int(cov.real_valid.sum())} / {int((~cov.real_valid).sum())}"),
        ("synthetic poses / skipped", f"{int(cov.synthetic_valid.sum())} / {int((~cov.synthetic_valid).sum())}"),
        ("radius", f"{cov.radius:g}"),
        ("uncovered real poses", f"{n_unc} ({100 * frac:.1f} %)"),
        ("distance to nearest synthetic: median / 95th percentile", f"{np.median(d):.3f} / {np.percentile(d, 95):.3f}"),
        ("distance to nearest other real pose: median", f"{np.nanmedian(cov.real_nn_distance):.3f}"),
        ("mean-pose offset (real vs synthetic)", f"{offset:.3f}"),
    ]
    body = (
        _table(rows) + "<p>Poses are centred, scaled to unit size and rotated onto each other (Procrustes, no "
        "reflection); the distance is the RMS keypoint offset in units of the pose's RMS radius.</p>"
        + plots
        + "<h3>Real poses without a synthetic neighbour</h3><p>Green: real labels; magenta: the nearest synthetic "
        f'pose, fitted onto the real one.</p><div class="gallery">{tiles}</div>' + listing
    )
    return Section("coverage", title, level, verdict, body)


def _edges(syn: FrameSet, pairs: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """Skeleton edges between the shared keypoints (indices into ``pairs``), from the synthetic dataset's DLC
    config when it has one; otherwise none."""
    import yaml

    config = syn.source / "config.yaml"
    index = {b: k for k, (_, b) in enumerate(pairs)}
    skeleton: list = []
    if syn.source.is_dir() and config.is_file():
        try:
            skeleton = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("skeleton") or []
        except (OSError, yaml.YAMLError, AttributeError):
            skeleton = []
    edges = [tuple(e) for e in skeleton if isinstance(e, list | tuple) and len(e) == 2]
    return [(index[a], index[b]) for a, b in edges if a in index and b in index]


PHOTOMETRIC = ("brightness", "contrast", "mouse_intensity")
GEOMETRIC = ("mouse_area", "mouse_x", "mouse_y")


def statistics_verdict(
    comparisons: list[StatisticComparison], provenance: SyntheticProvenance | None = None
) -> tuple[str, str]:
    """``(level, verdict)`` of the image statistics: a statistic is named as different only when its medians
    differ by more than its tolerance (the real frames' own spread, or 5 % of the real median;
    :func:`synthmouse.metrics.imagestats.compare_statistic`), as narrower when the medians agree but many real
    frames lie outside the synthetic range; every other one matches."""

    def short(c: StatisticComparison) -> str:
        return c.label.split(" (")[0]

    differ = [c for c in comparisons if c.status == "differs"]
    narrow = [c for c in comparisons if c.status == "narrower"]
    same = [c for c in comparisons if c.status == "matches"]
    if not differ and not narrow:
        names = ", ".join(short(c) for c in same) or "nothing measurable"
        return "good", f"The synthetic frames match the real ones in {names} (medians within the real spread)."
    n_issues = len(differ) + 0.5 * len(narrow)
    level = "fair" if n_issues <= 2 else "poor"
    parts = []
    if differ:
        parts.append(
            "They differ in "
            + ", ".join(
                f"{short(c)} (median {c.real_median:.3g} real, {c.synthetic_median:.3g} synthetic; equal within "
                f"{c.tolerance:.2g})"
                for c in differ
            )
            + "."
        )
    if narrow:
        parts.append(
            "The synthetic frames cover a narrower range of "
            + ", ".join(f"{short(c)} ({100 * c.outside:.0f} % of the real frames outside it)" for c in narrow)
            + "."
        )
    if same:
        parts.append("They match in " + ", ".join(short(c) for c in same) + ".")
    names = {c.name for c in differ + narrow}
    profile = provenance.appearance_profile if provenance is not None else None
    if names & set(PHOTOMETRIC):
        if profile:
            parts.append(
                f"The appearance profile {profile} is applied and should set the intensities: was it fitted "
                "on a video of this camera and session?"
            )
        elif provenance is not None and provenance.known:
            parts.append(
                "An appearance profile (synthmouse fit-appearance on the real video) sets brightness, "
                "contrast and the mouse's intensity."
            )
    if names & set(GEOMETRIC):
        parts.append(
            "The mouse's size and position in the frame come from the camera and the arena: fit the camera "
            "to the real video (synthmouse fit-camera) and check the arena's size."
        )
    return level, " ".join(parts)


def _section_statistics(
    comparisons: list[StatisticComparison],
    real_stats: dict,
    syn_stats: dict,
    real: FrameSet,
    provenance: SyntheticProvenance | None = None,
) -> Section:
    level, verdict = statistics_verdict(comparisons, provenance)
    rows = [
        (
            c.label,
            c.unit,
            f"{c.real_median:.3g}",
            f"{c.synthetic_median:.3g}",
            f"{c.tolerance:.2g}",
            c.status,
            f"{c.overlap:.2f}",
            f"{100 * c.outside:.0f} %",
        )
        for c in comparisons
    ]
    table = _table(
        rows,
        (
            "statistic",
            "unit",
            "real median",
            "synthetic median",
            "equal within",
            "verdict",
            "histogram overlap",
            "real frames not covered",
        ),
    )
    plot = _img(F.png_bytes(F.statistic_histograms(comparisons, real_stats, syn_stats)), alt="statistics")
    body = (
        table + "<p>The mouse: the rendered masks of a synthmouse dataset, otherwise found by background "
        "subtraction (median background of the set); "
        "orientation is the body axis (0-180 degrees). Two medians are equal within the real frames' own "
        "between-frame standard deviation or 5 % of the real median, whichever is larger; a real frame is not "
        "covered when its value lies further than that outside the synthetic range (orientation: more than 10 "
        "degrees from every synthetic frame; it differs when the histograms overlap less than 0.5).</p>" + plot
    )
    return Section("image_statistics", "Image statistics", level, verdict, body)


def _section_ssim(ssim: tuple[np.ndarray, list[str]] | None) -> Section:
    title = "SSIM of renders and their translated versions"
    if ssim is None:
        return Section(
            "ssim",
            title,
            "skipped",
            "Not measured: no --translated folder given (SSIM compares each render with its image-translated version).",
        )
    values, keys = ssim
    mean = float(np.mean(values))
    level = "good" if mean >= 0.7 else ("fair" if mean >= 0.4 else "poor")
    verdict = f"Mean SSIM {mean:.3f} over {len(keys)} pairs: " + (
        "the translation keeps the rendered structure (and so the labels' validity)."
        if level == "good"
        else "the translation changes the image structure; check that the mouse and the labels still agree."
    )
    worst = np.argsort(values)[:10]
    body = _table([(keys[i], f"{values[i]:.3f}") for i in worst], ("lowest-SSIM frames", "SSIM"))
    return Section("ssim", title, level, verdict, body)


# ---------------------------------------------------------------------------------------------- summary figure
def summary_figure(
    syn: FrameSet,
    real: FrameSet,
    clf: ClassifierResult,
    cov: PoseCoverage | None,
    comparisons: list[StatisticComparison],
    stats_real: dict,
    stats_syn: dict,
    fidelity: FidelityResult | None,
) -> bytes:
    """One PNG with the headline numbers and plots of the report."""
    fig = F.figure(12.0, 8.4)
    grid = fig.add_gridspec(3, 4, height_ratios=[1.0, 1.0, 1.0], hspace=0.45, wspace=0.25)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(real.images[len(real) // 2], cmap="gray", vmin=0, vmax=255)
    ax.set_title("real", fontsize=9)
    ax.axis("off")
    ax = fig.add_subplot(grid[0, 1])
    ax.imshow(syn.images[len(syn) // 2], cmap="gray", vmin=0, vmax=255)
    ax.set_title("synthetic", fontsize=9)
    ax.axis("off")
    F.realism_histogram(clf.p_real_real, clf.p_real_synthetic, fig.add_subplot(grid[0, 2:]))
    order = np.argsort(clf.p_real_synthetic)[:3]
    maps = clf.activation_maps(syn.images, "synthetic", order)
    for j, i in enumerate(order):
        ax = fig.add_subplot(grid[1, j])
        ax.imshow(F.heat_overlay(centre_crop(syn.images[i], clf.input_size), maps[j]))
        ax.set_title(f"least realistic #{j + 1}: p(real) {clf.p_real_synthetic[i]:.3f}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[1, 3])
    ax.axis("off")
    lines = [f"classifier: {100 * clf.accuracy:.0f}% held-out accuracy", f"   AUC {clf.auc:.2f}, p = {clf.p_value:.3g}"]
    if fidelity is not None:
        lines += [
            f"KID {fidelity.kid.mean:.4f} ± {fidelity.kid.std:.4f}",
            f"   real halves {fidelity.kid_real_halves.mean:.4f}",
            f"FID {fidelity.fid:.1f} (real halves {fidelity.fid_real_halves:.1f})",
        ]
    else:
        lines += ["KID/FID: not measured"]
    if cov is not None:
        lines += [f"uncovered real poses: {100 * cov.fraction_uncovered:.0f}%", f"   (radius {cov.radius:g})"]
    ax.text(0.0, 1.0, "\n".join(lines), va="top", family="monospace", fontsize=9)
    if cov is not None:
        real_2d, syn_2d, explained = cov.embedding()
        F.pose_scatter(real_2d, syn_2d, cov.uncovered[cov.real_valid], explained, fig.add_subplot(grid[2, 0:2]))
    picks = [c for c in comparisons if c.name in ("brightness", "mouse_area")]
    for j, c in enumerate(picks):
        ax = fig.add_subplot(grid[2, 2 + j])
        r, s = stats_real[c.name], stats_syn[c.name]
        r, s = r[np.isfinite(r)], s[np.isfinite(s)]
        if len(r) and len(s):
            bins = np.linspace(min(r.min(), s.min()), max(r.max(), s.max()) + 1e-9, 25)
            ax.hist(r, bins, alpha=0.6, color=F.REAL_COLOUR, density=True, label="real")
            ax.hist(s, bins, alpha=0.6, color=F.SYNTHETIC_COLOUR, density=True, label="synthetic")
        ax.set_title(f"{c.label} ({c.unit})", fontsize=8)
        ax.set_yticks([])
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(
        f"synthmouse realism: {syn.source.name} ({len(syn)} frames) vs {real.source.name} ({len(real)} frames)",
        fontsize=11,
    )
    return F.png_bytes(fig, dpi=80)


# ---------------------------------------------------------------------------------------------- HTML
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .6em;font-size:.9em;
text-align:left;vertical-align:top}th{background:#f5f5f5}
.verdict{padding:.6em .9em;border-left:6px solid;background:#fafafa;margin:.6em 0}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:0 .5em;font-size:.8em;margin-right:.5em}
.gallery{display:flex;flex-wrap:wrap;gap:6px}figure{margin:0;font-size:.72em;max-width:240px}
figure img{display:block;max-width:100%}img{max-width:100%}
"""


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    inputs = report.numbers.get("inputs", {})
    summary_rows = "".join(
        f'<tr><td>{html.escape(s.title)}</td><td><span class="badge" style="background:{LEVELS[s.level]}">'
        f"{s.level}</span></td><td>{html.escape(s.verdict)}</td></tr>"
        for s in report.sections
        if s.key != "inputs"
    )
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(report.title)}</title>'
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        f"<p>Synthetic: <code>{html.escape(str(inputs.get('synthetic')))}</code> &nbsp; Real: "
        f"<code>{html.escape(str(inputs.get('real')))}</code><br>synthmouse "
        f"{html.escape(str(report.numbers.get('synthmouse_version')))}, {when}. The numbers are also in the JSON "
        "file beside this page.</p>",
        f"<h2>Summary</h2><table><tr><th>measure</th><th></th><th>verdict</th></tr>{summary_rows}</table>",
    ]
    if report.summary_png is not None:
        parts.append(_img(report.summary_png, alt="summary"))
    for s in report.sections:
        colour = LEVELS[s.level]
        parts.append(f'<h2 id="{s.key}">{html.escape(s.title)}</h2>')
        parts.append(f'<div class="verdict" style="border-color:{colour}">{html.escape(s.verdict)}</div>')
        parts.append(s.body)
    parts.append("</body></html>")
    return "\n".join(parts)
