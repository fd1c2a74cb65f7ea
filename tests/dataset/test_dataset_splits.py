"""Train/val/test splits by motion segment: near the requested shares, never empty without need, cut segments
separated by a gap of excluded frames."""

from __future__ import annotations

import numpy as np
import pytest

from synthmouse.dataset.splits import default_gap, parse_fractions, split_by_segment, target_counts
from synthmouse.errors import SynthmouseError

KEYS = ("train", "val", "test", "gap")


def _segments(lengths) -> list[str]:
    return [f"seg{s}" for s, n in enumerate(lengths) for _ in range(n)]


def _check_partition(splits: dict[str, np.ndarray], n: int) -> None:
    assert set(splits) == set(KEYS)
    for idx in splits.values():
        assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)  # ascending, no repeats
    assert sorted(np.concatenate([splits[k] for k in KEYS]).tolist()) == list(range(n))


def _check_cut_segments(splits: dict[str, np.ndarray], segments: list[str], gap: int) -> set[str]:
    """Frames of one segment in two different splits are more than ``gap`` frames apart, with only gap frames
    of that segment between them; returns the segments that were cut."""
    split_of = {int(i): name for name, idx in splits.items() for i in idx}
    cut = set()
    for s in set(segments):
        frames = [i for i, x in enumerate(segments) if x == s]
        owners = [split_of[i] for i in frames if split_of[i] != "gap"]
        if len(set(owners)) <= 1:
            continue
        cut.add(s)
        labelled = [(i, split_of[i]) for i in frames if split_of[i] != "gap"]
        for (a, sa), (b, sb) in zip(labelled, labelled[1:], strict=False):
            if sa != sb:
                assert b - a > gap, f"segment {s}: frames {a} ({sa}) and {b} ({sb}) closer than the gap {gap}"
                assert all(split_of[i] == "gap" for i in range(a + 1, b))
    return cut


def test_demo_like_two_segments_come_near_the_requested_shares():
    """The demo: 200 frames in two motion segments of 74 and 126 frames gave 74/126/0 before."""
    segments = _segments([74, 126])
    gap = default_gap(200)
    assert gap == 5
    for seed in range(6):
        splits = split_by_segment(segments, seed=seed)
        _check_partition(splits, 200)
        sizes = {k: len(v) for k, v in splits.items()}
        assert sizes["val"] == 20 and sizes["test"] == 20  # the small splits keep their exact share
        assert 160 - 2 * gap <= sizes["train"] <= 160 and sizes["gap"] == 160 - sizes["train"]
        assert len(_check_cut_segments(splits, segments, gap)) >= 1


def test_openfield_like_three_segments_and_many_fractions():
    segments = _segments([65, 19, 66])  # an openfield run made 65/19/66 for 0.8/0.1/0.1 before
    n, gap = len(segments), default_gap(len(segments))
    for fractions in [(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.34, 0.33, 0.33), (0.6, 0.4, 0.0), (0.9, 0.0, 0.1)]:
        splits = split_by_segment(segments, seed=3, fractions=fractions)
        _check_partition(splits, n)
        for name, f in zip(("train", "val", "test"), fractions, strict=True):
            assert abs(len(splits[name]) - f * n) <= 2 * gap + 1, (fractions, name, len(splits[name]))
            assert (len(splits[name]) > 0) == (f > 0)
        _check_cut_segments(splits, segments, gap)


def test_many_segments_fractions_met_and_at_most_two_segments_cut():
    lengths = np.random.default_rng(0).integers(5, 40, size=200)
    segments = _segments(lengths)
    n, gap = len(segments), default_gap(len(segments))
    splits = split_by_segment(segments, seed=1, fractions=(0.7, 0.2, 0.1))
    _check_partition(splits, n)
    assert len(_check_cut_segments(splits, segments, gap)) <= 2
    assert len(splits["gap"]) <= 2 * gap
    for name, target in zip(("train", "val", "test"), (0.7, 0.2, 0.1), strict=True):
        assert abs(len(splits[name]) - target * n) <= 2 * gap


def test_cuts_move_to_a_segment_boundary_within_the_gap():
    segments = _segments([10] * 100)  # 1000 frames, gap 15: every target count lies on a boundary
    splits = split_by_segment(segments, seed=4)
    _check_partition(splits, 1000)
    assert [len(splits[k]) for k in KEYS] == [800, 100, 100, 0]
    assert not _check_cut_segments(splits, segments, default_gap(1000))
    # 97 frames each: the targets 800 and 900 are 27 / 3 frames from a boundary, one cut moves, one cuts
    segments = _segments([97] * 10 + [30])
    splits = split_by_segment(segments, seed=4)
    _check_partition(splits, 1000)
    assert len(_check_cut_segments(splits, segments, 15)) <= 1


def test_splits_depend_on_the_seed_and_segment_ids_only():
    segments = _segments(np.random.default_rng(2).integers(5, 40, size=30))
    a = split_by_segment(segments, seed=5)
    b = split_by_segment(list(segments), seed=5)
    c = split_by_segment(segments, seed=6)
    assert all(np.array_equal(a[k], b[k]) for k in KEYS)
    assert any(not np.array_equal(a[k], c[k]) for k in KEYS)


@pytest.mark.parametrize(
    ("n", "fractions", "expected"),
    [
        (0, (0.8, 0.1, 0.1), (0, 0, 0)),
        (1, (0.8, 0.1, 0.1), (1, 0, 0)),
        (2, (0.8, 0.1, 0.1), (1, 1, 0)),  # train and val first: the larger shares
        (3, (0.8, 0.1, 0.1), (1, 1, 1)),
        (10, (0.8, 0.1, 0.1), (8, 1, 1)),
        (2, (0.1, 0.1, 0.8), (1, 0, 1)),  # equal shares: the earlier split
        (5, (0.5, 0.5, 0.0), (3, 2, 0)),
        (4, (0.0, 0.0, 1.0), (0, 0, 4)),
    ],
)
def test_small_datasets_and_zero_fractions(n, fractions, expected):
    assert tuple(target_counts(n, fractions)) == expected
    splits = split_by_segment(["only"] * n, seed=0, fractions=fractions)  # one segment: cut without a gap
    _check_partition(splits, n)
    assert tuple(len(splits[k]) for k in ("train", "val", "test")) == expected


def test_one_long_segment_is_cut_twice_with_gaps_from_train():
    splits = split_by_segment(["walk"] * 600, seed=0)
    _check_partition(splits, 600)
    assert [len(splits[k]) for k in KEYS] == [480 - 30, 60, 60, 30]
    _check_cut_segments(splits, ["walk"] * 600, 15)
    explicit = split_by_segment(["walk"] * 600, seed=0, gap=0)
    assert [len(explicit[k]) for k in KEYS] == [480, 60, 60, 0]


def test_bad_fractions_and_gap_are_rejected():
    assert parse_fractions("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    with pytest.raises(SynthmouseError, match="sum to 1"):
        parse_fractions("0.8,0.3,0.1")
    with pytest.raises(SynthmouseError, match="three numbers"):
        parse_fractions("a,b")
    with pytest.raises(SynthmouseError, match="gap"):
        split_by_segment(["a"] * 4, seed=0, gap=-1)
