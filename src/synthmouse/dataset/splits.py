"""Train / validation / test splits by motion segment, near the requested shares, never empty without need.

Neighbouring frames of one motion segment are nearly identical; splitting frames at random would leak them
across the split. The splits are therefore made of runs of whole segments, and a segment is cut only where whole
segments cannot come near the requested shares (a few long segments: a short demo has two), with a *gap* of
excluded frames at the cut:

1. The segments are shuffled (a generator seeded by the dataset seed) and laid end to end, each segment's frames
   in frame order: one line of all ``N`` frames.
2. The line is cut at the requested counts (:func:`target_counts`: the shares of ``N`` rounded, and at least one
   frame for every split with a positive share while there are frames for it): val, then train, then test, so
   that both cuts border the (usually largest) train split.
3. A cut moves to the nearest segment boundary when that is at most ``gap`` frames away (the frame count such a
   move costs is no more than a gap costs) and leaves no wanted split empty.
4. A cut that stays inside a segment excludes ``gap`` frames of that segment at the cut, taken from the larger of
   the two splits (half from each when they are equal), never the last frame of a split. These frames are in no
   split: :func:`split_by_segment` returns them under ``"gap"``.

The result is a function of the seed, the segment ids (in frame order), the fractions and the gap only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import SynthmouseError

SPLIT_NAMES = ("train", "val", "test")
GAP = "gap"  # frames excluded from every split where a motion segment is cut between two splits
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
# SeedSequence([seed, SPLIT_STREAM]) draws the segment order (two entries: distinct from any frame's stream)
SPLIT_STREAM = 0x5B117
LINE_ORDER = (1, 0, 2)  # val, train, test along the line: both cuts border train, which gives up the gap frames
MAX_GAP_FRAMES = 15  # 0.5 s at 30 frames per second
GAP_SHARE = 40  # the default gap is at most 1/GAP_SHARE of the dataset's frames


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` to three fractions summing to 1 (raises :class:`SynthmouseError` otherwise)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise SynthmouseError(f"--split {text!r}: expected three numbers like 0.8,0.1,0.1") from None
    return check_fractions(values)


def check_fractions(values: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(v) for v in values)
    if len(values) != 3 or any(not v >= 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise SynthmouseError(
            f"split fractions {values}: need three non-negative numbers (train, val, test) that sum to 1"
        )
    return values  # type: ignore[return-value]


def default_gap(n_frames: int) -> int:
    """Frames excluded at a cut inside a segment: ``min(15, n_frames // 40)`` (no gap below 40 frames)."""
    return min(MAX_GAP_FRAMES, n_frames // GAP_SHARE)


def target_counts(n_frames: int, fractions: Sequence[float]) -> np.ndarray:
    """``(3,) int64`` frames wanted in train, val, test: the shares of ``n_frames`` rounded (largest remainder,
    ties to the earlier split), then every split with a positive share gets at least one frame, taken from the
    largest split, while one has more than one frame (larger shares first: 2 frames at 0.8/0.1/0.1 give 1/1/0)."""
    fractions = np.asarray(check_fractions(fractions))
    raw = fractions * n_frames
    counts = np.floor(raw + 1e-9).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n_frames - int(counts.sum())]] += 1
    for k in np.argsort(-fractions, kind="stable"):
        if fractions[k] > 0 and counts[k] == 0 and counts.max() > 1:
            counts[int(np.argmax(counts))] -= 1
            counts[k] = 1
    return counts


def split_by_segment(
    segments: Sequence[str], seed: int, fractions: Sequence[float] = DEFAULT_FRACTIONS, gap: int | None = None
) -> dict[str, np.ndarray]:
    """Assign runs of whole motion segments to train, val and test (see the module docstring).

    Args:
        segments: ``N`` segment ids, one per frame; frames of one id are consecutive in time in frame order.
        seed: dataset seed (the segment order is drawn from ``SeedSequence([seed, SPLIT_STREAM])``).
        fractions: target fraction of *frames* for train, val, test.
        gap: frames excluded at a cut inside a segment (default: :func:`default_gap` of ``N``).

    Returns:
        ``{"train": (n_train,) int64, "val": ..., "test": ..., "gap": ...}`` ascending positions into
        ``segments``; together a partition of ``range(N)``.
    """
    fractions = check_fractions(fractions)
    n = len(segments)
    gap = default_gap(n) if gap is None else int(gap)
    if gap < 0:
        raise SynthmouseError(f"split gap {gap}: need a number of frames >= 0")
    out = {name: np.empty(0, np.int64) for name in (*SPLIT_NAMES, GAP)}
    if n == 0:
        return out
    names, inverse = np.unique(np.asarray([str(s) for s in segments], dtype=object), return_inverse=True)
    rank = np.empty(len(names), np.int64)
    rank[np.random.default_rng(np.random.SeedSequence([seed, SPLIT_STREAM])).permutation(len(names))] = np.arange(
        len(names)
    )
    line = np.lexsort((np.arange(n), rank[inverse]))  # frame at each line position
    seg = inverse[line]
    bounds = np.r_[np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]]), n]  # segment starts on the line, and n
    counts = target_counts(n, fractions)[list(LINE_ORDER)]
    wanted = counts > 0
    cuts = np.cumsum(counts)[:2]

    def valid(c: np.ndarray) -> bool:
        sizes = np.diff(np.r_[0, c, n])
        return bool((sizes >= 0).all() and (sizes[wanted] > 0).all())

    for p in np.unique(cuts):
        if p in bounds:
            continue
        b = int(bounds[np.argmin(np.abs(bounds - p))])
        trial = np.where(cuts == p, b, cuts)
        if abs(b - p) <= gap and valid(trial):
            cuts = trial
    label = np.asarray(LINE_ORDER)[np.searchsorted(cuts, np.arange(n), side="right")]  # 0 train 1 val 2 test
    for p in np.unique(cuts):
        if 0 < p < n and seg[p - 1] == seg[p]:
            _cut_gap(label, seg, int(p), gap)
    for k, name in enumerate((*SPLIT_NAMES, GAP)):
        out[name] = np.sort(line[label == k]).astype(np.int64)
    return out


def _cut_gap(label: np.ndarray, seg: np.ndarray, p: int, gap: int) -> None:
    """Mark up to ``gap`` line positions of the segment cut at ``p`` as gap (label 3), in place: from the larger
    split first (half from each when equal), the rest from the other, never a split's last frame."""
    left, right = int(label[p - 1]), int(label[p])
    size = {left: int((label == left).sum()), right: int((label == right).sum())}

    def run(k: int, step: int) -> int:  # frames of the cut segment in split k next to the cut, on one side
        i, count = (p - 1 if step < 0 else p), 0
        while 0 <= i < len(label) and seg[i] == seg[p] and label[i] == k:
            i, count = i + step, count + 1
        return count

    first, second = ((left, -1), (right, 1)) if size[left] >= size[right] else ((right, 1), (left, -1))
    taken = 0
    for k, step in (first, second):
        share = (gap + 1) // 2 if k == first[0] and size[left] == size[right] else gap - taken
        available = run(k, step)
        take = max(0, min(share, available, size[k] - 1))
        label[np.arange(p - take, p) if step < 0 else np.arange(p, p + take)] = 3
        taken += take
        if take == available:  # the segment no longer reaches across the cut
            return
