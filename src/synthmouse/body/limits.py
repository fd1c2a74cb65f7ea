"""Joint limits per anatomical group, from the package data file ``joint_limits.yaml``."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import yaml

from ..errors import ModelFormatError
from .groups import GROUPS

AXES = ("flex", "lateral", "twist")


def _base_group(group: str) -> str:
    return group[:-2] if group.endswith(("_l", "_r")) else group


@cache
def group_limits_degrees() -> dict[str, np.ndarray]:
    """``{group: (3, 2) degrees}`` for every group in :data:`GROUPS`, read from the package data file."""
    text = resources.files("synthmouse").joinpath("data/joint_limits.yaml").read_text()
    raw = yaml.safe_load(text)
    out = {}
    for group in GROUPS:
        base = _base_group(group)
        if base not in raw:
            raise ModelFormatError("joint_limits.yaml", f"no limits for group {base!r}")
        entry = raw[base]
        out[group] = np.array([entry[a] for a in AXES], dtype=np.float64)
    return out


def limits_for_groups(groups: tuple[str, ...] | list[str]) -> np.ndarray:
    """``(J, 3, 2)`` limits in radians for a list of joint groups."""
    table = group_limits_degrees()
    unknown = sorted({g for g in groups if g not in table})
    if unknown:
        raise ModelFormatError("<skeleton>", f"unknown joint groups {unknown}; allowed: {', '.join(GROUPS)}")
    return np.radians(np.stack([table[g] for g in groups])) if groups else np.zeros((0, 3, 2))
