"""Pydantic helpers shared by the schemas of files users write (scene files, motion mixes).

pydantic's lax mode turns ``true`` into ``1`` for a number field, ``1`` or ``"yes"`` into ``True`` for a
boolean field, and lets ``.nan`` / ``.inf`` through a float field without bounds. In a user's file each of those
is a mistake that would pass silently (``width: true`` renders a one-pixel image), so every model derived from
:class:`StrictScalarsModel` checks the kind of each value against its field's annotation before pydantic
converts it:

* a boolean where the field takes numbers (and not booleans) is an error;
* anything but ``true``/``false`` where the field takes only booleans is an error;
* a non-finite float (``.nan``, ``.inf``) where the field takes numbers is an error;

the same inside lists, tuples and mapping values (``[true, 2]`` for a ``[min, max]`` range).
"""

from __future__ import annotations

import math
import types
import typing
from typing import Annotated, Any, Union

import numpy as np
from pydantic import BaseModel, ValidationInfo, field_validator

__all__ = ["StrictScalarsModel", "scalar_problem"]

_NUMBERS = (int, float)
_BOOLS = (bool, np.bool_)


def _members(annotation: Any) -> list:
    """The members of an annotation through ``Annotated`` and unions (``Optional`` included)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        out: list = []
        for arg in typing.get_args(annotation):
            out += _members(arg)
        return out
    return [annotation]


def _shown(value: Any) -> str:
    if isinstance(value, _BOOLS):
        return "true" if value else "false"
    return repr(value)


def scalar_problem(annotation: Any, value: Any) -> str | None:
    """What is wrong with the kind of ``value`` for a field annotated ``annotation`` (see the module
    docstring), or None when pydantic may validate it."""
    members = _members(annotation)
    if any(m is Any or m is object for m in members):
        return None
    takes_bool = bool in members
    takes_number = any(m in _NUMBERS for m in members)
    takes_str = any(m is str or typing.get_origin(m) is typing.Literal for m in members)
    if isinstance(value, _BOOLS):
        if takes_number and not takes_bool:
            return f"got {_shown(value)} (a boolean); expected a number"
        return None
    if takes_bool and not (takes_number or takes_str) and value is not None and not isinstance(value, (list, dict)):
        return f"got {_shown(value)}; expected true or false"
    if isinstance(value, float) and not math.isfinite(value) and takes_number:
        return f"got {value} (not a finite number); expected a finite number"
    if isinstance(value, (list, tuple)):
        for member in members:
            origin, args = typing.get_origin(member), typing.get_args(member)
            if origin is tuple and args:
                items = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
            elif origin is list and args:
                items = [args[0]] * len(value)
            else:
                continue
            for i, (item, v) in enumerate(zip(items, value, strict=False)):
                problem = scalar_problem(item, v)
                if problem is not None:
                    return f"item {i}: {problem}"
            return None
    if isinstance(value, dict):
        for member in members:
            if typing.get_origin(member) is dict and len(typing.get_args(member)) == 2:
                item = typing.get_args(member)[1]
                for key, v in value.items():
                    problem = scalar_problem(item, v)
                    if problem is not None:
                        return f"{key}: {problem}"
                return None
    return None


class StrictScalarsModel(BaseModel):
    """Base of user-file models: booleans, numbers and finite floats are told apart before validation."""

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name) if info.field_name else None
        if field is not None:
            problem = scalar_problem(field.annotation, value)
            if problem is not None:
                raise ValueError(problem)
        return value
