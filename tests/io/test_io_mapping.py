"""synthmouse.io.mapping: the one ``--map REAL=SYNTHETIC`` parser and the shared keypoint-name matching."""

from __future__ import annotations

import pytest

from synthmouse.io.label_checks import LabelError
from synthmouse.io.mapping import MAP_FORM, match_keypoints, pairs_text, parse_mapping, plain


def test_parse_mapping_reads_real_equals_synthetic_repeated_or_comma_separated():
    assert MAP_FORM == "REAL=SYNTHETIC"
    assert parse_mapping(["snout=nose", " leftear = left_ear_tip ,tailbase=tail_root"]) == {
        "snout": "nose",
        "leftear": "left_ear_tip",
        "tailbase": "tail_root",
    }
    assert parse_mapping(None) == {} and parse_mapping([]) == {}
    for bad in ("snout", "snout=", "=nose", "a=b=c"):
        with pytest.raises(LabelError, match=r"expected REAL=SYNTHETIC .* e.g. --map snout=nose"):
            parse_mapping([bad])


def test_matching_by_map_name_case_separators_and_common_names():
    real = ["Snout", "left ear", "tailbase", "Tail_End", "joystick"]
    synthetic = ["nose", "left_ear_base", "left_ear_tip", "tail_root", "tail_end"]
    pairs = match_keypoints(real, synthetic)
    assert pairs == [
        ("Snout", "nose"),
        ("left ear", "left_ear_base"),
        ("tailbase", "tail_root"),
        ("Tail_End", "tail_end"),
    ]
    pairs = match_keypoints(real, synthetic, {"left ear": "left_ear_tip"})
    assert ("left ear", "left_ear_tip") in pairs
    assert pairs_text([("snout", "nose"), ("neck", "neck")]) == "snout=nose, neck"
    assert plain("Tail_Root-1 .x") == "tailroot1x"


def test_a_map_on_the_wrong_sides_shows_the_reverse():
    with pytest.raises(LabelError, match=r"did you mean the reverse, --map snout=nose\?"):
        match_keypoints(["snout"], ["nose"], {"nose": "snout"})
    with pytest.raises(LabelError, match="nose is the target of several entries"):
        match_keypoints(["snout", "tip"], ["nose"], {"snout": "nose", "tip": "nose"})
