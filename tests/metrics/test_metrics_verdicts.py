"""The report's verdicts reflect the run: equal statistics match (a tolerance from the real frames' own spread),
and the advice depends on what the synthetic dataset already applied (its appearance profile, randomization)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthmouse.metrics.imagestats import RELATIVE_TOLERANCE, compare_statistic, compare_statistics
from synthmouse.metrics.provenance import SyntheticProvenance, randomized_sections, synthetic_provenance
from synthmouse.metrics.report import classifier_verdict, statistics_verdict

RNG = np.random.default_rng(7)
NO_PROFILE = SyntheticProvenance(known=True, camera="top")
PROFILE = SyntheticProvenance(known=True, camera="top", appearance_profile="appearance/profile.yaml")
PROFILE_RANDOM = SyntheticProvenance(
    known=True, camera="top", appearance_profile="appearance/profile.yaml", randomized=("light", "body", "image")
)


def _stats(brightness: float, contrast: float, area: float, n: int) -> dict[str, np.ndarray]:
    """Per-frame statistics spread evenly around these medians (brightness +-5, contrast +-3, area +-0.3)."""
    t = np.linspace(-1.0, 1.0, n)
    return {"brightness": brightness + 5 * t, "contrast": contrast + 3 * t, "mouse_area": area + 0.3 * t}


def test_172_against_175_brightness_matches():
    c = compare_statistic("brightness", RNG.normal(172, 1.0, 116), RNG.normal(175, 1.0, 300))
    # the real frames vary by only 1 grey level, but 3 levels is within 5 % of 172: equal
    assert c.tolerance == pytest.approx(RELATIVE_TOLERANCE * c.real_median, rel=1e-6)
    assert c.status == "matches" and c.outside == 0.0
    wide = compare_statistic("brightness", RNG.normal(172, 12.0, 116), RNG.normal(180, 12.0, 300))
    assert wide.status == "matches" and wide.tolerance == pytest.approx(12.0, rel=0.2)  # the real spread
    far = compare_statistic("brightness", RNG.normal(172, 3.0, 116), RNG.normal(209, 3.0, 300))
    assert far.status == "differs" and far.difference == pytest.approx(37, abs=2)
    narrow = compare_statistic("brightness", RNG.normal(172, 30.0, 116), np.full(300, 172.0))
    assert narrow.status == "narrower" and narrow.outside > 0.1


def test_statistics_verdict_names_only_real_differences():
    same = compare_statistics(_stats(172, 51, 2.4, 116), _stats(175, 50, 2.45, 300))
    level, verdict = statistics_verdict(same, NO_PROFILE)
    assert level == "good" and verdict.startswith("The synthetic frames match the real ones in brightness, contrast")
    assert "differ" not in verdict

    apart = compare_statistics(_stats(172, 51, 2.4, 116), _stats(209, 38, 2.45, 300))
    level, verdict = statistics_verdict(apart, NO_PROFILE)
    assert level == "fair"
    assert "They differ in brightness (median 172 real, 209 synthetic" in verdict and "contrast (median" in verdict
    assert "They match in mouse size." in verdict
    assert "synthmouse fit-appearance on the real video" in verdict  # no profile: fit one

    level, verdict = statistics_verdict(apart, PROFILE)
    assert "The appearance profile appearance/profile.yaml is applied" in verdict
    assert "fit-appearance on the real video" not in verdict


def test_classifier_verdict_does_not_recommend_a_profile_already_applied():
    level, verdict = classifier_verdict(1.0, 0.0005, 1.0, NO_PROFILE)
    assert level == "poor" and "expected for untreated renders" in verdict
    assert "uses no appearance profile: fit one to the real video (synthmouse fit-appearance" in verdict

    level, verdict = classifier_verdict(1.0, 0.0005, 1.0, PROFILE)
    assert level == "poor" and "fit one" not in verdict and "untreated" not in verdict
    assert "already uses the appearance profile appearance/profile.yaml" in verdict
    assert "Next: randomize light, image, body" in verdict

    level, verdict = classifier_verdict(0.7, 0.01, 0.75, PROFILE_RANDOM)
    assert level == "fair" and "fit-appearance" not in verdict and "randomizes light, body, image" in verdict
    assert "body.length_scale" in verdict  # what is left: shape and fur, or a profile from another session

    level, verdict = classifier_verdict(1.0, 0.0005, 1.0, SyntheticProvenance())  # not a synthmouse dataset
    assert "If not done yet" in verdict
    assert classifier_verdict(0.52, 0.3, 0.5, PROFILE)[0] == "good"


def test_provenance_is_read_from_the_manifest_and_frames_csv(tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    assert not synthetic_provenance(root).known
    (root / "manifest.json").write_text(
        json.dumps({"provenance": {"appearance": {"top": "/p/top/profile.yaml", "side": "/p/side/profile.yaml"}}})
    )
    (root / "frames.csv").write_text(
        "frame,split,segment,motion,body.length_scale,image.gamma,light.intensity\n"
        "0,train,0,walk,0.9,1.0,1.1\n1,train,0,walk,0.9,1.0,0.8\n"
    )
    p = synthetic_provenance(root, "top")
    assert p.known and p.appearance_profile == "/p/top/profile.yaml"
    assert p.randomized == ("light", "body")  # image.gamma is constant; body shapes are drawn per segment
    assert synthetic_provenance(root, "front").appearance_profile is None
    assert synthetic_provenance(root).appearance_profile is None  # two cameras, two profiles: which one?

    state = tmp_path / "st"
    (state / ".synthmouse").mkdir(parents=True)
    (state / ".synthmouse" / "state.json").write_text(
        json.dumps({"meta": {"extra": {"appearance": {"top": "prof.yaml"}}}})
    )
    assert synthetic_provenance(state).appearance_profile == "prof.yaml"
    assert randomized_sections(state / "frames.csv") == ()
