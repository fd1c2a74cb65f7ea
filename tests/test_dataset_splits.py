"""Train/val/test splits by motion segment."""

from __future__ import annotations

import numpy as np
import pytest

from synthmouse.dataset.splits import parse_fractions, split_by_segment
from synthmouse.errors import SynthmouseError


def _segments(n_segments: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 40, size=n_segments)
    return [f"seg{s}" for s, n in enumerate(lengths) for _ in range(n)]


def test_whole_segments_go_to_one_split_and_fractions_are_met():
    segments = _segments(200)
    splits = split_by_segment(segments, seed=1, fractions=(0.7, 0.2, 0.1))
    owner = {}
    for name, idx in splits.items():
        for i in idx:
            assert owner.setdefault(segments[i], name) == name  # never split across
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(len(segments)))
    n = len(segments)
    for name, target in zip(("train", "val", "test"), (0.7, 0.2, 0.1), strict=True):
        assert abs(len(splits[name]) / n - target) < 0.02


def test_splits_depend_on_the_seed_only():
    segments = _segments(30)
    a = split_by_segment(segments, seed=5)
    b = split_by_segment(segments, seed=5)
    c = split_by_segment(segments, seed=6)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_three_segments_fill_three_splits_and_zero_fraction_stays_empty():
    segments = ["a"] * 10 + ["b"] * 10 + ["c"] * 10
    assert all(len(v) == 10 for v in split_by_segment(segments, seed=0).values())
    no_test = split_by_segment(segments, seed=0, fractions=(0.5, 0.5, 0.0))
    assert len(no_test["test"]) == 0


def test_bad_fractions_are_rejected():
    assert parse_fractions("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    with pytest.raises(SynthmouseError, match="sum to 1"):
        parse_fractions("0.8,0.3,0.1")
    with pytest.raises(SynthmouseError, match="three numbers"):
        parse_fractions("a,b")
