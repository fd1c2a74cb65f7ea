"""Read-only arrays and mappings for the runtime scene's frozen dataclasses (a renderer may cache on them)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np


def frozen_array(value: Any) -> np.ndarray | None:
    """``value`` as a read-only array: itself when already a read-only array, else a read-only copy (None
    stays None)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and not value.flags.writeable:
        return value
    out = np.array(value)
    out.setflags(write=False)
    return out


def frozen_mapping(value: Mapping) -> Mapping:
    """``value`` as a read-only mapping: itself when already one, else a read-only view of a copy."""
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


def freeze_arrays(obj: Any, *names: str) -> None:
    """Make the array fields ``names`` of a frozen dataclass instance read-only (in ``__post_init__``); fields
    that hold no array (None, a list given by a caller) are left as they are."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, np.ndarray):
            object.__setattr__(obj, name, frozen_array(value))
