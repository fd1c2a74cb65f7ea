"""Train / validation / test splits by motion segment, never by single frame.

Neighbouring frames of one motion segment are nearly identical; splitting frames at random would leak them
across the split. Whole segments are assigned instead: segments are shuffled with a generator seeded by the
dataset seed, then each goes to the split furthest below its target frame count, relative to that target (so
with at least three segments every split with a positive fraction gets one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import SynthmouseError

SPLIT_NAMES = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
# SeedSequence([seed, SPLIT_STREAM]) draws the segment order (two entries: distinct from any frame's stream)
SPLIT_STREAM = 0x5B117


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` to three fractions summing to 1 (raises :class:`SynthmouseError` otherwise)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise SynthmouseError(f"--split {text!r}: expected three numbers like 0.8,0.1,0.1") from None
    return check_fractions(values)


def check_fractions(values: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(v) for v in values)
    if len(values) != 3 or any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise SynthmouseError(
            f"split fractions {values}: need three non-negative numbers (train, val, test) that sum to 1"
        )
    return values  # type: ignore[return-value]


def split_by_segment(
    segments: Sequence[str], seed: int, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> dict[str, np.ndarray]:
    """Assign whole segments to splits.

    Args:
        segments: ``N`` segment ids, one per frame (frames of one id always land in the same split).
        seed: dataset seed (the assignment is a function of the seed and the segment ids only).
        fractions: target fraction of *frames* for train, val, test.

    Returns:
        ``{"train": (n_train,) int64, "val": ..., "test": ...}`` positions into ``segments``, ascending.
    """
    fractions = check_fractions(fractions)
    seg = np.asarray([str(s) for s in segments], dtype=object)
    names, inverse, counts = np.unique(seg, return_inverse=True, return_counts=True)
    order = np.random.default_rng(np.random.SeedSequence([seed, SPLIT_STREAM])).permutation(len(names))
    targets = np.asarray(fractions) * len(seg)
    filled = np.zeros(3)
    assigned = np.empty(len(names), dtype=np.int64)
    for s in order:
        deficit = np.where(targets > 0, (targets - filled) / np.where(targets > 0, targets, 1.0), -np.inf)
        choice = int(np.argmax(deficit))
        assigned[s] = choice
        filled[choice] += counts[s]
    frame_split = assigned[inverse]
    return {name: np.flatnonzero(frame_split == k) for k, name in enumerate(SPLIT_NAMES)}
