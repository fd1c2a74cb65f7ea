"""Which keypoint of the user's labels is which keypoint of a synthetic set (or of a model trained on one).

One function, :func:`match_keypoints`, used by ``report``, ``train``, ``evaluate`` and ``benchmark-sim2real``.
A real keypoint (a name in the user's DeepLabCut/SLEAP labels) is matched to a synthetic one, in this order:

1. by ``--map REAL=SYNTHETIC`` (the user's label name on the left, the synthetic or model name on the right;
   the same direction in every command);
2. by the same name;
3. by the same name ignoring case and separators (``Tail_Root`` = ``tail_root``, ``left ear`` = ``left_ear``);
4. by :data:`DEFAULT_ALIASES`, a table of common DeepLabCut / SLEAP names (``snout`` -> ``nose``, ``leftear``
   -> ``left_ear_base`` or ``left_ear_tip``, ``tailbase`` -> ``tail_root`` ...), best candidate first;
5. by the same table read both ways: two names that the table sends to a common landmark (a synthetic
   ``dlc-topview`` set's ``snout`` and real labels' ``nose``).

Keypoints left unmatched are left out. A ``--map`` entry whose names are on the wrong sides (a synthetic name
on the left and a real one on the right) is an error that says so and shows the reverse.

Retargeting's keypoint map file (``keypoints: {target: body-part name}``) is a file format of its own and
keeps its direction (:mod:`synthmouse.motion.retarget_run`); every ``--map`` option goes through
:func:`parse_mapping`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .label_checks import LabelError

MAP_FORM = "REAL=SYNTHETIC"
"""The one `--map` direction of every command: a name in the user's labels = the synthetic (or model) name."""

# Common DeepLabCut / SLEAP names (lower case, separators removed) -> synthmouse landmark names, best first.
# DeepLabCut's open-field labels put "leftear" at the base of the pinna, so the ear base comes before the tip.
_EAR_L, _EAR_R = ("left_ear_base", "left_ear_tip"), ("right_ear_base", "right_ear_tip")
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "snout": ("nose",),
    "nose": ("nose",),
    "nosetip": ("nose",),
    "leftear": _EAR_L,
    "earleft": _EAR_L,
    "earl": _EAR_L,
    "lefteartip": ("left_ear_tip",),
    "leftearbase": ("left_ear_base",),
    "rightear": _EAR_R,
    "earright": _EAR_R,
    "earr": _EAR_R,
    "righteartip": ("right_ear_tip",),
    "rightearbase": ("right_ear_base",),
    "lefteye": ("left_eye",),
    "righteye": ("right_eye",),
    "neck": ("neck",),
    "head": ("head_centre",),
    "headcenter": ("head_centre",),
    "headcentre": ("head_centre",),
    "headmidpoint": ("head_centre",),
    "bodycenter": ("body_middle",),
    "bodycentre": ("body_middle",),
    "centroid": ("body_middle",),
    "center": ("body_middle",),
    "centre": ("body_middle",),
    "spine": ("body_middle",),
    "mid": ("body_middle",),
    "mousecenter": ("body_middle",),
    "bodymiddle": ("body_middle",),
    "midback": ("back_middle",),
    "tailbase": ("tail_root",),
    "tailroot": ("tail_root",),
    "tailstart": ("tail_root",),
    "tail1": ("tail_root",),
    "tailmid": ("tail_middle",),
    "tailmiddle": ("tail_middle",),
    "tailcenter": ("tail_middle",),
    "tailend": ("tail_end",),
    "tailtip": ("tail_end",),
    "leftforepaw": ("left_paw",),
    "leftfrontpaw": ("left_paw",),
    "forepawleft": ("left_paw",),
    "leftpaw": ("left_paw",),
    "rightforepaw": ("right_paw",),
    "rightfrontpaw": ("right_paw",),
    "forepawright": ("right_paw",),
    "rightpaw": ("right_paw",),
    "lefthindpaw": ("left_foot",),
    "leftbackpaw": ("left_foot",),
    "hindpawleft": ("left_foot",),
    "leftfoot": ("left_foot",),
    "righthindpaw": ("right_foot",),
    "rightbackpaw": ("right_foot",),
    "hindpawright": ("right_foot",),
    "rightfoot": ("right_foot",),
}


def plain(name: str) -> str:
    """``name`` in lower case without spaces, ``_``, ``-`` or ``.`` (``Tail_Root`` -> ``tailroot``)."""
    return re.sub(r"[\s_\-.]+", "", str(name).lower())


def parse_mapping(items: Sequence[str] | None) -> dict[str, str]:
    """``["snout=nose", ...]`` (``REAL=SYNTHETIC``, also comma-separated) as ``{real: synthetic}``.

    Raises:
        LabelError: an item without exactly one ``=`` or with an empty side.
    """
    out: dict[str, str] = {}
    for item in items or ():
        for part in filter(None, (p.strip() for p in str(item).split(","))):
            pieces = part.split("=")
            if len(pieces) != 2 or not pieces[0].strip() or not pieces[1].strip():
                raise LabelError(
                    f"--map {part!r}: expected {MAP_FORM} (a name in your labels = the synthetic "
                    "name), e.g. --map snout=nose"
                )
            out[pieces[0].strip()] = pieces[1].strip()
    return out


def check_mapping(
    mapping: Mapping[str, str],
    real_names: Sequence[str],
    synthetic_names: Sequence[str],
    real_what: str = "the real labels",
    synthetic_what: str = "the synthetic set",
) -> None:
    """Every ``--map`` entry names a real keypoint on the left and a synthetic one on the right.

    Raises:
        LabelError: entries on the wrong sides (``did you mean the reverse, --map snout=nose?``), a name that
            neither side has (listing the keypoints of that side), or one synthetic keypoint mapped twice.
    """
    real_names, synthetic_names = list(real_names), list(synthetic_names)
    reversed_entries = [
        (r, s) for r, s in mapping.items() if r not in real_names and r in synthetic_names and s in real_names
    ]
    if reversed_entries:
        given = ", ".join(f"{r}={s}" for r, s in reversed_entries)
        fix = " ".join(f"--map {s}={r}" for r, s in reversed_entries)
        first_r, first_s = reversed_entries[0]
        raise LabelError(
            f"--map {given}: {first_r} is a keypoint of {synthetic_what} and {first_s} one of {real_what}, but the "
            f"form is {MAP_FORM} (a name in your labels = the synthetic name): did you mean the reverse, {fix}?"
        )
    for r, s in mapping.items():
        if r not in real_names:
            raise LabelError(
                f"--map {r}={s}: {r} is not a keypoint of {real_what}; its keypoints are "
                f"{', '.join(real_names) or 'none'} (the form is {MAP_FORM})"
            )
        if s not in synthetic_names:
            raise LabelError(
                f"--map {r}={s}: {s} is not a keypoint of {synthetic_what}; its keypoints are "
                f"{', '.join(synthetic_names) or 'none'} (the form is {MAP_FORM})"
            )
    targets = list(mapping.values())
    twice = sorted({s for s in targets if targets.count(s) > 1})
    if twice:
        raise LabelError(
            f"--map: {', '.join(twice)} is the target of several entries "
            f"({', '.join(f'{r}={s}' for r, s in mapping.items() if s in twice)}); each synthetic "
            "keypoint can stand for one real keypoint"
        )


def _candidates(name: str) -> set[str]:
    """Plain names a keypoint name may stand for: itself and its :data:`DEFAULT_ALIASES` targets."""
    key = plain(name)
    return {key, *(plain(a) for a in DEFAULT_ALIASES.get(key, ()))}


def match_keypoints(
    real_names: Sequence[str],
    synthetic_names: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    real_what: str = "the real labels",
    synthetic_what: str = "the synthetic set",
) -> list[tuple[str, str]]:
    """Pairs ``(real name, synthetic name)`` of the keypoints both sets share, in the order of ``real_names``
    (see the module docstring for the rules). ``real_what`` / ``synthetic_what`` name the two sides in messages.

    Raises:
        LabelError: a bad ``mapping`` entry (:func:`check_mapping`).
    """
    mapping = dict(mapping or {})
    real_names, synthetic_names = list(real_names), list(synthetic_names)
    check_mapping(mapping, real_names, synthetic_names, real_what, synthetic_what)
    chosen: dict[str, str] = {}
    used = set(mapping.values())
    for r, s in mapping.items():
        chosen[r] = s
    plain_syn = {plain(s): s for s in synthetic_names}
    rules = (
        lambda r: r if r in synthetic_names else None,
        lambda r: plain_syn.get(plain(r)),
        lambda r: next((c for c in DEFAULT_ALIASES.get(plain(r), ()) if c in synthetic_names and c not in used), None),
        lambda r: next((s for s in synthetic_names if s not in used and _candidates(r) & _candidates(s)), None),
    )
    for rule in rules:  # each rule over every real name before the next, looser one
        for r in real_names:
            if r in chosen:
                continue
            s = rule(r)
            if s is not None and s not in used:
                chosen[r] = s
                used.add(s)
    return [(r, chosen[r]) for r in real_names if r in chosen]


def no_match_message(
    real_names: Sequence[str],
    synthetic_names: Sequence[str],
    real_what: str = "the real labels",
    synthetic_what: str = "the synthetic set",
) -> str:
    """The one-line message when no keypoint matches."""
    return (
        f"no keypoint of {real_what} ({', '.join(real_names)}) matches one of {synthetic_what} "
        f"({', '.join(synthetic_names)}) by name, case, separators or the common DeepLabCut names; name the "
        f"pairs with --map {MAP_FORM}, e.g. --map snout=nose"
    )


def pairs_text(pairs: Sequence[tuple[str, str]]) -> str:
    """``snout=nose, leftear=left_ear_base`` (REAL=SYNTHETIC)."""
    return ", ".join(f"{r}={s}" if r != s else r for r, s in pairs)


__all__ = [
    "DEFAULT_ALIASES",
    "MAP_FORM",
    "check_mapping",
    "match_keypoints",
    "no_match_message",
    "pairs_text",
    "parse_mapping",
    "plain",
]
