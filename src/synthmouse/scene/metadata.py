"""The scene's ``metadata:`` section: the session and subject a dataset describes, and per-keypoint OKS sigmas.

Nothing here changes a rendered pixel; the values go into the exported files: the NWB file's session and
``Subject`` (which nwbinspector requires), the COCO ``info`` dates and the COCO category's ``kpt_oks_sigmas``.

* ``session_start_time`` defaults to the constant :data:`DEFAULT_SESSION_START` (2000-01-01T00:00:00Z), never the
  clock, so that a dataset stays a function of (scene, seed, frame count, image settings, version). Give the real
  date of the experiment a synthetic set stands in for, with a time zone (``2024-03-01T10:00:00+01:00``; a date
  alone means midnight UTC).
* ``subject``: species (Latin binomial or an NCBI taxonomy IRI, default ``Mus musculus``), strain (default: the
  strain the body model is built after when the coat matches it, see :func:`default_strain`, else
  ``unknown``), sex ``M`` / ``F`` / ``U`` / ``O`` (default ``U``), age as an ISO 8601 duration (``P90D``), a
  range (``P8W/P12W``, open-ended ``P8W/``) or ``unknown``.
* ``oks_sigmas``: ``{keypoint name: sigma}`` overriding the defaults of ``data/oks_sigmas.yaml``.

:func:`session_metadata` resolves the section into the plain JSON mapping a dataset stores
(:attr:`synthmouse.dataset.meta.DatasetMeta.session`); :func:`keypoint_oks_sigmas` gives the sigma of every
keypoint.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ..errors import SceneError

DEFAULT_SESSION_START = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_SPECIES = "Mus musculus"
DEFAULT_KEYWORDS = ("synthetic data", "pose estimation", "mouse", "synthmouse")
UNKNOWN = "unknown"
SEXES = ("M", "F", "U", "O")
SIGMA_FILE = "data/oks_sigmas.yaml"
BUILTIN_BODIES_STRAIN = "C57BL/6"  # the built-in bodies are sized as an adult C57BL/6 (body/parametric.py, sam.py)
STRAIN_COATS = {"black": BUILTIN_BODIES_STRAIN}  # fur preset -> strain it is the coat of (scene/materials.py)

# ISO 8601 duration as nwbinspector's check_subject_age accepts it (years, months, weeks, days, time part)
_NUM = r"\d+(?:\.\d+)?"
_DURATION = rf"P(?!$)({_NUM}Y)?({_NUM}M)?({_NUM}W)?({_NUM}D)?(T(?={_NUM})({_NUM}H)?({_NUM}M)?({_NUM}S)?)?"
_AGE = re.compile(rf"{_DURATION}|{_DURATION}/({_DURATION})?|/{_DURATION}")
_SPECIES = re.compile(r"[A-Z][a-z]* [a-z]+|http://purl\.obolibrary\.org/obo/NCBITaxon_\d+")


def _session_start(value: Any) -> Any:
    """A date means midnight UTC; a date-time must carry a time zone (reproducible across machines)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            if "T" in text or " " in text:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            else:
                value = datetime.combine(date.fromisoformat(text), time(0, 0), tzinfo=UTC)
        except ValueError:
            raise ValueError(
                f"{text!r} is not an ISO 8601 date-time; write e.g. 2024-03-01T10:00:00+01:00, 2024-03-01T09:00:00Z "
                "or a date 2024-03-01 (midnight UTC)"
            ) from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(
            f"{value.isoformat()} has no time zone; add one (e.g. {value.isoformat()}Z or +01:00) so the "
            "dataset is the same on every machine"
        )
    return value


SessionStart = Annotated[datetime, BeforeValidator(_session_start)]
Text = Annotated[str, Field(min_length=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SubjectSpec(_Section):
    """The (synthetic) animal: NWB ``Subject`` fields."""

    subject_id: Text | None = None
    species: str = DEFAULT_SPECIES
    strain: Text | None = None
    sex: Literal["M", "F", "U", "O"] = "U"
    age: str = UNKNOWN
    description: Text | None = None

    @field_validator("species")
    @classmethod
    def _species(cls, value: str) -> str:
        if not _SPECIES.fullmatch(value):
            raise ValueError(
                f"{value!r} is neither a Latin binomial ('Mus musculus') nor an NCBI taxonomy IRI "
                "('http://purl.obolibrary.org/obo/NCBITaxon_10090')"
            )
        return value

    @field_validator("age")
    @classmethod
    def _age(cls, value: str) -> str:
        if value != UNKNOWN and not _AGE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an ISO 8601 duration: write e.g. P90D (90 days), P12W, P3M, a range P8W/P12W, "
                f"an open range P8W/ (8 weeks or older), or {UNKNOWN}"
            )
        return value

    @field_validator("subject_id")
    @classmethod
    def _no_slash(cls, value: str | None) -> str | None:
        if value is not None and "/" in value:
            raise ValueError(f"{value!r} contains '/', which DANDI paths cannot hold; use '-' or '_'")
        return value


class MetadataSpec(_Section):
    """The scene's ``metadata:`` section (see the module docstring)."""

    session_start_time: SessionStart = DEFAULT_SESSION_START
    session_id: Text | None = None
    description: Text | None = None
    experiment_description: Text | None = None
    experimenter: list[Text] = Field(default_factory=list)
    lab: Text | None = None
    institution: Text | None = None
    keywords: list[Text] = Field(default_factory=lambda: list(DEFAULT_KEYWORDS))
    subject: SubjectSpec = Field(default_factory=SubjectSpec)
    oks_sigmas: dict[str, Annotated[float, Field(gt=0, le=10)]] = Field(default_factory=dict)

    @field_validator("session_id")
    @classmethod
    def _no_slash(cls, value: str | None) -> str | None:
        return SubjectSpec._no_slash(value)


# ---------------------------------------------------------------------------------------------- resolution
def default_strain(model: str, fur: str, fur_colour=None) -> str:
    """The strain a scene's subject defaults to: ``C57BL/6`` for the built-in bodies (``parametric``, ``sam``,
    both sized as an adult C57BL/6) wearing that strain's black coat preset, ``unknown`` for any other body
    or coat (a white built-in mouse could be BALB/c, CD-1 ...)."""
    if model in ("parametric", "sam") and fur_colour is None and fur in STRAIN_COATS:
        return STRAIN_COATS[fur]
    return UNKNOWN


def session_metadata(
    spec: MetadataSpec | None, body_name: str = "", model: str = "", fur: str = "", fur_colour=None
) -> dict[str, Any]:
    """The resolved, JSON-serializable session metadata a dataset stores (defaults filled in)."""
    spec = spec or MetadataSpec()
    subject = spec.subject
    safe_body = re.sub(r"[^A-Za-z0-9_.-]+", "-", body_name).strip("-") or "mouse"
    return {
        "session_start_time": spec.session_start_time.isoformat(),
        "session_id": spec.session_id,
        "description": spec.description,
        "experiment_description": spec.experiment_description,
        "experimenter": list(spec.experimenter),
        "lab": spec.lab,
        "institution": spec.institution,
        "keywords": list(spec.keywords),
        "subject": {
            "subject_id": subject.subject_id or f"synthmouse-{safe_body}",
            "species": subject.species,
            "strain": subject.strain or default_strain(model, fur, fur_colour),
            "sex": subject.sex,
            "age": subject.age,
            "description": subject.description
            or (
                f"synthetic mouse rendered by synthmouse (body model {body_name or 'unknown'}"
                + (f", fur {fur}" if fur else "")
                + ")"
            ),
        },
    }


def default_session_metadata() -> dict[str, Any]:
    """Session metadata of a dataset whose source gave none (test doubles, datasets of older versions)."""
    return session_metadata(None)


def nwb_age(age: str) -> str:
    """The NWB ``Subject.age`` of a scene age: ``unknown`` becomes the open ISO 8601 range ``P0D/`` ("0 days or
    older"), which nwbinspector accepts (it reports a plain ``unknown`` as CRITICAL)."""
    return "P0D/" if age == UNKNOWN else age


# ---------------------------------------------------------------------------------------------- OKS sigmas
@cache
def _sigma_table() -> dict[str, Any]:
    data = yaml.safe_load(resources.files("synthmouse").joinpath(SIGMA_FILE).read_text())
    kinds = {str(k): float(v) for k, v in data["kinds"].items()}
    return {
        "kinds": kinds,
        "default": float(data["default"]),
        "landmarks": {str(k): kinds[v] for k, v in data["landmarks"].items()},
        "patterns": [(re.compile(p), kinds[k]) for p, k in data["patterns"]],
    }


def default_oks_sigma(name: str, landmark: str | None = None) -> float:
    """The default OKS sigma of a keypoint ``name`` whose spec is ``landmark`` (when it is a landmark)."""
    table = _sigma_table()
    if landmark is not None and landmark in table["landmarks"]:
        return table["landmarks"][landmark]
    lower = name.lower()
    for pattern, sigma in table["patterns"]:
        if pattern.search(lower):
            return sigma
    return table["default"]


def keypoint_landmarks(keypoints: str) -> dict[str, str]:
    """Output keypoint name -> landmark name, for the keypoints of a set (a built-in name or a user ``.yaml``)
    whose spec is a landmark (``nose`` or ``{landmark: nose}``); other specs are left out."""
    try:
        if str(keypoints).lower().endswith((".yaml", ".yml")):
            raw = yaml.safe_load(Path(keypoints).read_text())
            entries = raw.get("keypoints", {}) if isinstance(raw, dict) else {}
        else:
            data = yaml.safe_load(resources.files("synthmouse").joinpath("data/keypoint_sets.yaml").read_text())
            entries = data.get("sets", {}).get(keypoints, {}).get("keypoints", {})
    except (OSError, yaml.YAMLError):
        return {}
    out = {}
    for name, spec in (entries or {}).items():
        if isinstance(spec, str):
            out[str(name)] = spec
        elif isinstance(spec, dict) and set(spec) == {"landmark"} and isinstance(spec["landmark"], str):
            out[str(name)] = spec["landmark"]
    return out


def keypoint_oks_sigmas(
    names, keypoints: str = "", overrides: dict[str, float] | None = None, source=None
) -> dict[str, float]:
    """OKS sigma of every keypoint in ``names`` (see ``data/oks_sigmas.yaml`` for the lookup order).

    Args:
        names: output keypoint names of the scene's keypoint set.
        keypoints: the scene's ``body.keypoints`` (built-in set name or user file), to find each name's landmark.
        overrides: the scene's ``metadata.oks_sigmas``.
        source: the scene spec, for the error naming the scene file.

    Raises:
        SceneError: an override names no keypoint of the set.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        message = f"names no keypoint of the set: {unknown}; keypoints: {', '.join(names)}"
        if source is not None and hasattr(source, "error"):
            raise source.error("metadata.oks_sigmas", message)
        raise SceneError(f"metadata.oks_sigmas {message}")
    landmarks = keypoint_landmarks(keypoints) if keypoints else {}
    return {n: float(overrides[n]) if n in overrides else default_oks_sigma(n, landmarks.get(n)) for n in names}
