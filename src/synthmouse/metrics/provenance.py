"""How a synthetic dataset was made, as far as the report's advice depends on it.

A synthmouse dataset records its appearance profiles (``manifest.json`` ``provenance.appearance``, the same
in ``.synthmouse/state.json``: ``{camera: profile.yaml}``, written by ``generate`` from the scene's
``appearance:``) and every randomized value per frame (``frames.csv``: one column per key, ``light.*``,
``camera.*``, ``body.*``, ``image.*``, ``background.*``, ``distractors.*``). The report reads them so that it
never recommends fitting a profile the dataset already uses, and says what is actually next.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

RANDOMIZATION_SECTIONS = ("light", "camera", "body", "image", "background", "distractors")


@dataclass(frozen=True)
class SyntheticProvenance:
    """What the report knows about how the synthetic frames were made.

    Attributes:
        known: the dataset records it (a synthmouse dataset); False for other folders (nothing is assumed).
        camera: the camera the report measures (None: the dataset's only one, or unknown).
        appearance_profile: the profile applied to that camera's frames, or None.
        randomized: the randomization sections whose values vary between frames (``frames.csv``).
    """

    known: bool = False
    camera: str | None = None
    appearance_profile: str | None = None
    randomized: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "known": self.known,
            "camera": self.camera,
            "appearance_profile": self.appearance_profile,
            "randomized": list(self.randomized),
        }


def synthetic_provenance(root: str | Path, camera: str | None = None) -> SyntheticProvenance:
    """Read :class:`SyntheticProvenance` from a dataset folder (``camera``: its name, without ``synth_``)."""
    root = Path(root)
    extra = _recorded_extra(root)
    if extra is None:
        return SyntheticProvenance(known=False, camera=camera)
    profiles = extra.get("appearance") or {}
    if not isinstance(profiles, dict):
        profiles = {}
    if camera is not None:
        profile = profiles.get(camera)
    else:  # one camera (or all with the same profile)
        values = set(map(str, profiles.values()))
        profile = values.pop() if len(values) == 1 else None
    return SyntheticProvenance(
        known=True,
        camera=camera,
        appearance_profile=str(profile) if profile else None,
        randomized=randomized_sections(root / "frames.csv"),
    )


def _recorded_extra(root: Path) -> dict | None:
    """The dataset's provenance (``DatasetMeta.extra``) from ``manifest.json`` or ``.synthmouse/state.json``."""
    manifest = root / "manifest.json"
    state = root / ".synthmouse" / "state.json"
    for file, keys in ((manifest, ("provenance",)), (state, ("meta", "extra"))):
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            for key in keys:
                data = data[key]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(data, dict):
            return data
    return None


def randomized_sections(frames_csv: Path) -> tuple[str, ...]:
    """The sections of :data:`RANDOMIZATION_SECTIONS` with a ``frames.csv`` column that varies between frames
    (``body``: with a column at all, as its shape is drawn once per motion segment and a short dataset may hold
    only one)."""
    if not frames_csv.is_file():
        return ()
    try:
        with open(frames_csv, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            columns = {
                j: name.split(".", 1)[0]
                for j, name in enumerate(header)
                if "." in name and name.split(".", 1)[0] in RANDOMIZATION_SECTIONS
            }
            first: dict[int, str] = {}
            varying: set[str] = {section for section in columns.values() if section == "body"}
            for row in reader:
                for j, section in columns.items():
                    if section in varying or j >= len(row):
                        continue
                    if first.setdefault(j, row[j]) != row[j]:
                        varying.add(section)
    except (OSError, csv.Error, UnicodeDecodeError):
        return ()
    return tuple(s for s in RANDOMIZATION_SECTIONS if s in varying)


def next_step(provenance: SyntheticProvenance) -> str:
    """What to do next to make the synthetic frames harder to tell from real ones, given what was applied."""
    profile, randomized = provenance.appearance_profile, provenance.randomized
    if not provenance.known:
        return (
            "If not done yet: fit an appearance profile to the real video (synthmouse fit-appearance), name it "
            "in the scene's appearance:, add domain randomization (the scene's randomization:) and generate "
            "again."
        )
    varied = f" and randomizes {', '.join(randomized)}" if randomized else ""
    if profile is None:
        return (
            f"This dataset uses no appearance profile{varied}: fit one to the real video (synthmouse "
            "fit-appearance VIDEO --out appearance/), name it in the scene's appearance: and generate again."
        )
    missing = [s for s in ("light", "image", "body") if s not in randomized]
    if missing:
        return (
            f"This dataset already uses the appearance profile {profile}{varied}. Next: randomize "
            f"{', '.join(missing)} (the scene's randomization:, docs/scene.md) and generate again; the "
            "least realistic frames below show what still gives the frames away."
        )
    return (
        f"This dataset already uses the appearance profile {profile}{varied}. What still gives the frames away "
        "is in the galleries below: often the mouse's shape and fur (widen body.length_scale / girth_scale), "
        "or a profile fitted on another session than the real frames (fit it on a video of that session)."
    )


__all__ = ["RANDOMIZATION_SECTIONS", "SyntheticProvenance", "next_step", "randomized_sections", "synthetic_provenance"]
