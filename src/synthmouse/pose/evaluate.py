"""Accuracy against human labels: RMSE, mean and median error, PCK, per-keypoint table, worst-frame gallery.

Definitions (errors ``e`` are Euclidean pixel distances over every labelled keypoint of every frame; NaN labels
are left out, NaN predictions count as misses):

* ``rmse`` = sqrt(mean(e^2)); ``mean_error`` = mean(e) (what DeepLabCut reports as its "RMSE");
  ``median_error``;
* ``pck_5px``, ``pck_10px``: share of keypoints with e <= 5 / 10 px;
* ``pck_0.1L``, ``pck_0.2L``: e <= 0.1 / 0.2 of the frame's body length (the human labels' distance between
  the body-length pair, by default snout/nose to tail base; frames without both use the set's median).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from ..errors import SynthmouseError
from ..fileio import atomic_open, atomic_path
from ..io.labels import LabelledFrames
from ..io.mapping import match_keypoints, no_match_message
from .labels import TRAINING_FRAMES_FILE, file_sha256

HEAD_NAMES = ("snout", "nose", "Nose", "Snout", "nose_tip")
TAIL_NAMES = ("tailbase", "tail_root", "tail_base", "tailBase", "TailBase", "tail1")


def matched_names(
    model_names: Sequence[str], label_names: Sequence[str], mapping: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """``(model name, label name)`` pairs evaluated, in the model's order: ``mapping`` (``{label name: model
    name}``, i.e. ``--map REAL=SYNTHETIC``) where given, then the automatic matching of every command
    (:func:`synthmouse.io.mapping.match_keypoints`: same name, case and separators, common
    DeepLabCut names).

    Raises:
        LabelError: a bad ``--map`` entry (unknown name, names on the wrong sides).
        SynthmouseError: nothing matches.
    """
    pairs = match_keypoints(label_names, model_names, mapping, "the labels", "the model")
    if not pairs:
        raise SynthmouseError(no_match_message(label_names, model_names, "the labels", "the model"))
    order = {m: j for j, m in enumerate(model_names)}
    return sorted(((m, lab) for lab, m in pairs), key=lambda p: order[p[0]])


def keypoint_errors(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``(N, K)`` Euclidean distances; NaN where the label is NaN, +inf where only the prediction is."""
    e = np.linalg.norm(np.asarray(pred, float) - np.asarray(truth, float), axis=-1)
    labelled = np.isfinite(truth).all(-1)
    return np.where(labelled, np.where(np.isfinite(e), e, np.inf), np.nan)


def body_lengths(truth: np.ndarray, names: Sequence[str], pair: tuple[str, str] | None = None) -> np.ndarray:
    """``(N,)`` per-frame body length from the labels (see the module docstring). Without a known head/tail
    pair, the pair of keypoints furthest apart on average is used."""
    names = list(names)
    if pair is None:
        head = next((n for n in HEAD_NAMES if n in names), None)
        tail = next((n for n in TAIL_NAMES if n in names), None)
        if head is None or tail is None:
            d = np.linalg.norm(truth[:, :, None] - truth[:, None, :], axis=-1)
            med = np.nanmedian(np.where(np.isfinite(d), d, np.nan), axis=0) if len(truth) else d
            med = np.nan_to_num(med, nan=-1.0)
            a, b = np.unravel_index(int(np.argmax(med)), med.shape)
            head, tail = names[a], names[b]
        pair = (head, tail)
    for n in pair:
        if n not in names:
            raise SynthmouseError(f"body-length keypoint {n!r} is not labelled; labels have {', '.join(names)}")
    length = np.linalg.norm(truth[:, names.index(pair[0])] - truth[:, names.index(pair[1])], axis=-1)
    fallback = np.nanmedian(length) if np.isfinite(length).any() else np.nan
    return np.where(np.isfinite(length), length, fallback)


def summarize(errors: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
    """Metrics of ``errors (N, K)`` (NaN: unlabelled) with ``lengths (N,)`` body lengths."""
    lab = ~np.isnan(errors)
    e = errors[lab]
    if e.size == 0:
        return {"n": 0}
    rel = (errors / lengths[:, None])[lab]
    with np.errstate(invalid="ignore"):
        return {
            "n": int(e.size),
            "rmse": float(np.sqrt(np.mean(e**2))),
            "mean_error": float(np.mean(e)),
            "median_error": float(np.median(e)),
            "pck_5px": float(np.mean(e <= 5.0)),
            "pck_10px": float(np.mean(e <= 10.0)),
            "pck_0.1L": float(np.mean(rel <= 0.1)),
            "pck_0.2L": float(np.mean(rel <= 0.2)),
        }


def evaluation_report(
    pred: np.ndarray, truth: np.ndarray, names: Sequence[str], length_pair: tuple[str, str] | None = None
) -> dict:
    """``{"overall": metrics, "per_keypoint": {name: metrics}, "per_frame_mean_error": [...],
    "body_length_median": px}`` for ``pred``/``truth (N, K, 2)`` in the order ``names``."""
    errors = keypoint_errors(pred, truth)
    lengths = body_lengths(truth, names, length_pair)
    with np.errstate(invalid="ignore"):
        frame_err = np.nanmean(np.where(np.isnan(errors), np.nan, errors), axis=1) if errors.size else errors
    return {
        "overall": summarize(errors, lengths),
        "per_keypoint": {n: summarize(errors[:, [j]], lengths) for j, n in enumerate(names)},
        "per_frame_mean_error": [None if not np.isfinite(v) else float(v) for v in frame_err],
        "body_length_median": float(np.nanmedian(lengths)) if np.isfinite(lengths).any() else None,
    }


def format_table(report: dict) -> str:
    """A Markdown table of the per-keypoint and overall metrics."""
    cols = ("n", "rmse", "mean_error", "median_error", "pck_5px", "pck_10px", "pck_0.1L", "pck_0.2L")
    lines = ["| keypoint | " + " | ".join(cols) + " |", "|" + " --- |" * (len(cols) + 1)]
    rows = list(report["per_keypoint"].items()) + [("**all**", report["overall"])]
    for name, m in rows:
        cells = [str(m.get("n", 0))] + [f"{m[c]:.2f}" if c in m else "-" for c in cols[1:]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def worst_frame_gallery(
    images: Sequence[Path],
    pred: np.ndarray,
    truth: np.ndarray,
    frame_errors,
    path: str | Path,
    n: int = 9,
    tile: int = 160,
) -> Path:
    """PNG of the ``n`` frames with the largest mean error: crops around the labels, human labels green
    circles, predictions red crosses, lines between them; the error in the corner."""
    errs = np.array([-1.0 if v is None else v for v in frame_errors])
    order = np.argsort(-errs)[:n]
    tiles = []
    for i in order:
        image = cv2.imread(str(images[i]), cv2.IMREAD_COLOR)
        pts = np.concatenate([truth[i], pred[i]])
        pts = pts[np.isfinite(pts).all(-1)]
        centre = pts.mean(0) if len(pts) else np.array(image.shape[1::-1]) / 2
        span = max(120.0, float(np.ptp(pts, axis=0).max()) + 40 if len(pts) else 120.0)
        scale = tile / span
        m = np.array([[scale, 0, tile / 2 - scale * centre[0]], [0, scale, tile / 2 - scale * centre[1]]])
        crop = cv2.warpAffine(image, m, (tile, tile), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        for t, p in zip(truth[i], pred[i], strict=True):
            tt = m[:, :2] @ t + m[:, 2] if np.isfinite(t).all() else None
            pp = m[:, :2] @ p + m[:, 2] if np.isfinite(p).all() else None
            if tt is not None and pp is not None:
                cv2.line(crop, _pt(tt), _pt(pp), (0, 255, 255), 1, cv2.LINE_AA)
            if tt is not None:
                cv2.circle(crop, _pt(tt), 4, (0, 200, 0), 1, cv2.LINE_AA)
            if pp is not None:
                cv2.drawMarker(crop, _pt(pp), (0, 0, 255), cv2.MARKER_CROSS, 8, 1, cv2.LINE_AA)
        cv2.putText(
            crop,
            f"{Path(images[i]).stem} {errs[i]:.1f}px",
            (4, 14),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (255, 255, 0),
            1,
            cv2.LINE_AA,
        )
        tiles.append(crop)
    while len(tiles) % 3:
        tiles.append(np.zeros((tile, tile, 3), np.uint8))
    rows = [np.hstack(tiles[r : r + 3]) for r in range(0, len(tiles), 3)]
    sheet = np.vstack(rows) if rows else np.zeros((tile, tile, 3), np.uint8)
    path = Path(path)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), sheet):
            raise SynthmouseError(f"{path}: cannot write the gallery image")
    return path


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def evaluate_predictions(
    pred: np.ndarray,
    model_names: Sequence[str],
    labels: LabelledFrames,
    mapping: Mapping[str, str] | None = None,
    out: str | Path | None = None,
    length_pair: tuple[str, str] | None = None,
    gallery: int = 9,
    seen: np.ndarray | None = None,
    include_seen: bool = False,
) -> dict:
    """Compare ``pred (N, K_model, 2)`` with ``labels`` through the name mapping (``{label name: model name}``
    plus the automatic matching, :func:`matched_names`); writes ``metrics.json``, ``metrics.md`` and
    ``worst_frames.png`` into ``out`` when given. Keypoints are reported by label name.

    Args:
        seen: ``(N,) bool``, the frames the model was trained on (:func:`training_frame_mask`). They are left out
            of the main numbers (unless ``include_seen``) and measured apart under ``"training_frames"``.
        include_seen: keep the training frames in the main numbers too (then not a held-out measure).

    Raises:
        SynthmouseError: nothing to evaluate (no labelled keypoint the model predicts; every frame seen in
            training).
    """
    pairs = matched_names(model_names, labels.names, mapping)
    p = np.stack([pred[:, list(model_names).index(m)] for m, _ in pairs], axis=1)
    t = np.stack([labels.xy[:, list(labels.names).index(lab)] for _, lab in pairs], axis=1)
    names = [lab for _, lab in pairs]
    if not np.isfinite(t).all(-1).any():
        where = f" ({labels.images[0].parent} ...)" if len(labels) else ""
        raise SynthmouseError(
            f"no labelled keypoints to evaluate: the labels{where} of the keypoints the model "
            f"predicts ({', '.join(names)}) are all empty in {len(labels)} frames; evaluate on "
            "frames where they are labelled, or map other label columns with --map REAL=SYNTHETIC"
        )
    seen = np.zeros(len(labels), bool) if seen is None else np.asarray(seen, bool)
    rows = np.arange(len(labels)) if include_seen else np.flatnonzero(~seen)
    if not len(rows):
        raise SynthmouseError(
            f"all {len(labels)} labelled frames ({labels.images[0].parent} ...) were used to train this model "
            f"({TRAINING_FRAMES_FILE} in the model folder): nothing is held out; evaluate on other labelled "
            "frames, or pass --include-training-frames to measure them anyway (not a held-out result)"
        )
    report = evaluation_report(p[rows], t[rows], names, length_pair)
    report["frames"] = [str(labels.keys[i]) for i in rows]
    report["mapping"] = {lab: m for m, lab in pairs}
    report["n_frames"] = int(len(rows))
    report["n_frames_labelled"] = int(len(labels))
    report["training_frames"] = _seen_report(p, t, names, length_pair, labels, seen, include_seen)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_open(out / "metrics.json", "w") as f:
            json.dump(report, f, indent=1)
        with atomic_open(out / "metrics.md", "w") as f:
            f.write(frames_summary(report) + "\n\n" + format_table(report) + "\n")
        if gallery:
            worst_frame_gallery(
                [labels.images[i] for i in rows],
                p[rows],
                t[rows],
                report["per_frame_mean_error"],
                out / "worst_frames.png",
                n=gallery,
            )
    return report


def _seen_report(
    p: np.ndarray,
    t: np.ndarray,
    names: Sequence[str],
    length_pair,
    labels: LabelledFrames,
    seen: np.ndarray,
    include_seen: bool,
) -> dict:
    """The frames seen in training: how many, which, whether they are in the main numbers, and their own
    metrics (apart: an error on frames the model learned is not a measure of how it does on new frames)."""
    idx = np.flatnonzero(seen)
    out = {
        "n": int(len(idx)),
        "included_in_main_numbers": bool(include_seen and len(idx)),
        "frames": [str(labels.keys[i]) for i in idx],
    }
    if len(idx) and np.isfinite(t[idx]).all(-1).any():
        out["overall"] = evaluation_report(p[idx], t[idx], names, length_pair)["overall"]
    return out


def frames_summary(report: dict) -> str:
    """One or two lines: how many frames the numbers are on, and the frames seen in training apart."""
    n, total, seen = report["n_frames"], report["n_frames_labelled"], report["training_frames"]
    k = seen["n"]
    if not k:
        return f"Evaluated on all {total} labelled frames (none was used to train the model)."
    if seen["included_in_main_numbers"]:
        text = (
            f"Evaluated on all {total} labelled frames, {k} of them used to train the model "
            "(--include-training-frames: not a held-out result)."
        )
    else:
        text = (
            f"Evaluated on {n} held-out frames of {total} labelled: the {k} frames used to train the model "
            "are left out (--include-training-frames keeps them)."
        )
    m = seen.get("overall")
    if m and m.get("n"):
        text += (
            f"\nThe {k} training frames alone (not a held-out measure): rmse {m['rmse']:.2f} px, mean error "
            f"{m['mean_error']:.2f} px, pck_10px {m['pck_10px']:.2f}."
        )
    return text


def training_frame_mask(model_dir: str | Path, labels: LabelledFrames) -> np.ndarray:
    """``(N,) bool``: which frames of ``labels`` the model in ``model_dir`` was trained on, by the record
    ``training_frames.json`` written at training time (same resolved image path, or the same image bytes for
    human-labelled frames). All False when the folder holds no record (a model from an older version)."""
    file = Path(model_dir) / TRAINING_FRAMES_FILE
    if not file.is_file():
        return np.zeros(len(labels), bool)
    try:
        record = json.loads(file.read_text())
        paths, hashes = set(), set()
        for source in record["sources"]:
            root = Path(source["root"])
            paths.update(str(root / rel) for rel in source["images"])
            hashes.update(source.get("sha256", ()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SynthmouseError(
            f"{file}: unreadable record of the training frames ({exc}); delete it to evaluate without it"
        ) from None
    mask = np.array([str(Path(p).resolve()) in paths for p in labels.images], bool)
    if hashes:
        for i in np.flatnonzero(~mask):
            mask[i] = Path(labels.images[i]).is_file() and file_sha256(labels.images[i]) in hashes
    return mask


def model_mapping(model_dir: str | Path, label_names: Sequence[str], model_names: Sequence[str]) -> dict[str, str]:
    """The ``{label name: model name}`` pairs the model's real training frames were renamed through (recorded in
    ``training_frames.json``), kept where both names exist here: ``evaluate`` reuses a training ``--map``."""
    file = Path(model_dir) / TRAINING_FRAMES_FILE
    try:
        sources = json.loads(file.read_text())["sources"] if file.is_file() else []
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    out: dict[str, str] = {}
    for source in sources:
        for real, model in source.get("pairs", ()):
            if real in label_names and model in model_names and model not in out.values():
                out.setdefault(real, model)
    return out
