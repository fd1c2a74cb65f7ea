"""One formatter for pydantic validation errors of user files (scene files, motion mixes, appearance profiles).

Every problem becomes one line ``file, line N: field.path: message (got value)``: the line comes from the
composed YAML node tree when the caller has it (:func:`synthmouse.io.yamlio.compose_yaml`), the field path is the
path the user wrote (keys and list indices, union tags left out), and an unknown key lists the allowed keys of
its section when the caller names the root ``model``. Several problems get a head line and are indented; at
most :data:`MAX_PROBLEMS` are listed, the rest counted.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Collection
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from .yamlio import one_line

__all__ = [
    "MAX_PROBLEMS",
    "format_validation_error",
    "format_section_error",
    "error_path",
    "problem_message",
    "join_problems",
    "dotted",
]

MAX_PROBLEMS = 20  # problems listed in one error (the rest are counted)


def format_validation_error(
    exc: ValidationError,
    where: str,
    data: Any = None,
    node: yaml.Node | None = None,
    *,
    model: type[BaseModel] | None = None,
    what: str = "the file",
    tags: Collection[str] = (),
) -> str:
    """One line per problem: ``where, line N: field.path: message (got value)``.

    Args:
        exc: the pydantic error.
        where: the file name (or ``<scene>`` for data not read from a file).
        data: the validated data as written (paths follow its keys); None: the paths of ``exc`` as they are.
        node: the composed YAML node of ``data`` (adds the line of each problem), or None.
        model: the root model validated (unknown keys then list the allowed keys), or None.
        what: names the file in the head line of several problems (``3 problems in the scene file:``).
        tags: names of union members that pydantic puts into error locations and the data does not hold
            (``Tag("material_inline")``); a discriminated union's ``type`` value is recognised without it.
    """
    lines = []
    errors = exc.errors(include_url=False)
    for err in errors[:MAX_PROBLEMS]:
        path = error_path(data, err["loc"], tags)
        yaml_node = _key_node(node, path)
        place = where + (f", line {yaml_node.start_mark.line + 1}" if yaml_node is not None else "")
        message = problem_message(err, path, data, model)
        lines.append(one_line(f"{place}: {dotted(path) or '(top level)'}: {message}"))
    return join_problems(lines, len(errors), what)


def format_section_error(
    exc: ValidationError,
    section: str,
    data: Any,
    model: type[BaseModel],
    error: Callable[[str, str], object],
    tags: Collection[str] = (),
) -> str:
    """The problems of a section kept as written (a scene's ``motion:``) and validated later against its own
    ``model``: one line per problem, made by ``error(field, message)`` (``SceneSpec.error``, which adds the file
    and line) for the full field path (``motion.generators[1].speed``)."""
    lines = []
    errors = exc.errors(include_url=False)
    for err in errors[:MAX_PROBLEMS]:
        path = error_path(data, err["loc"], tags)
        message = problem_message(err, path, data, model)
        lines.append(str(error(dotted([section, *path]), message)))
    return join_problems(lines, len(errors), section)


def join_problems(lines: list[str], total: int, what: str) -> str:
    """One problem: its line; several: a head line, then one indented line per problem (at most
    :data:`MAX_PROBLEMS`, the rest counted)."""
    if total > len(lines):
        lines = [*lines, f"... and {total - len(lines)} more"]
    head = f"{total} problems in {what}:\n  " if total > 1 else ""
    return head + "\n  ".join(lines)


def problem_message(err: dict, path: list, data: Any, model: type[BaseModel] | None = None) -> str:
    """The message of one pydantic error: unknown keys with the allowed keys (when ``model`` is known),
    missing keys, union tags, value errors as raised, anything else with the value it got."""
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return _unknown_key_message(path, data, model)
    if kind == "missing":
        return "required but missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown type {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        types_ = _allowed_types(data, path, model) if model is not None else []
        return "needs a 'type' key" + (f"; allowed types: {', '.join(types_)}" if types_ else "")
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    value = err.get("input")
    shown = repr(value) if not isinstance(value, dict) else "{...}"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{msg} (got {shown})"


def _unknown_key_message(path: list, data: Any, model: type[BaseModel] | None) -> str:
    key = path[-1] if path else "?"
    if isinstance(key, str) and "." in key:  # flat dotted key: the allowed keys of its section
        section, _, leaf = key.partition(".")
        allowed = _allowed_keys(data, [*path[:-1], section], model)
        return f"unknown key {leaf!r} in {section}" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
    allowed = _allowed_keys(data, path[:-1], model)
    return f"unknown key {key!r}" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")


def error_path(data: Any, loc: tuple, tags: Collection[str] = ()) -> list:
    """The path (keys and indices) the user wrote for a pydantic ``loc``: union tags left out, flat dotted keys
    (``{image.gamma: ...}``) joined; an unknown or missing key ends the path. With ``data`` None, ``loc`` as it
    is, less the ``tags``."""
    if data is None:
        return [part for part in loc if part not in tags]
    path: list = []
    rest = list(loc)
    while rest:
        part = rest.pop(0)
        if isinstance(data, dict) and part not in data and data.get("type") == part:
            continue  # the tag of a discriminated union (rig or motion generator type), not a key
        if isinstance(data, dict) and part not in data and rest and f"{part}.{rest[0]}" in data:
            part = f"{part}.{rest.pop(0)}"  # a flat dotted key (randomization: {image.gamma: ...})
        if isinstance(data, dict) and part in data:
            data = data[part]
            path.append(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
            path.append(part)
        elif isinstance(data, dict) and isinstance(part, str) and part not in tags:
            # an unknown (extra) or missing key: point at the key itself when it exists
            path.append(part)
            break
    return path


def dotted(path: list) -> str:
    """``["cameras", 1, "fx"]`` -> ``cameras[1].fx``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ---------------------------------------------------------------------- YAML nodes
def _child(node: yaml.Node | None, part, key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == part:
                return k if key else v
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _key_node(node: yaml.Node | None, path: list) -> yaml.Node | None:
    """The node of the last key in ``path`` (the line where the key is written), or the deepest parent."""
    current, best = node, node
    for i, part in enumerate(path):
        last = i == len(path) - 1
        nxt = _child(current, part, key=last and isinstance(current, yaml.MappingNode))
        if nxt is None:
            return best
        current = best = nxt
    return best


# ---------------------------------------------------------------------- model annotations
def _allowed_keys(data: Any, path: list, model: type[BaseModel] | None) -> list[str] | None:
    """Field names of the section at ``path`` (keys/indices), walking the model annotations with the data."""
    if model is None:
        return None
    found = _annotation_at(data, path, model)
    section = _pick_model(*found) if found is not None else None
    return list(section.model_fields) if section is not None else None


def _allowed_types(data: Any, path: list, root: type[BaseModel]) -> list[str]:
    """The ``type`` values of a tagged union at ``path`` (rig types, motion generator types)."""
    found = _annotation_at(data, path, root)
    if found is None:
        return []
    annotation = _container(found[0]) or found[0]
    out = []
    for member in _flatten(annotation):
        is_model = isinstance(member, type) and issubclass(member, BaseModel)
        field = member.model_fields.get("type") if is_model else None
        if field is not None:
            out += [str(t) for t in typing.get_args(field.annotation)]
    return out


def _annotation_at(data: Any, path: list, root: type[BaseModel]) -> tuple[Any, Any] | None:
    """``(annotation, data)`` of the field at ``path`` below ``root``, or None where the path leaves it."""
    current: Any = root
    for part in path:
        container = _container(current)
        if container is not None:
            current = container
        else:
            model = _pick_model(current, data)
            if model is None or part not in model.model_fields:
                return None
            current = model.model_fields[part].annotation
        data = data[part] if isinstance(data, (dict, list)) and _has(data, part) else None
    return current, data


def _has(data: dict | list, part) -> bool:
    return part in data if isinstance(data, dict) else isinstance(part, int) and 0 <= part < len(data)


def _container(annotation: Any) -> Any:
    """The item type of a list/dict annotation (through Optional and Annotated), or None."""
    for candidate in _flatten(annotation, keep_lists=True):
        if typing.get_origin(candidate) in (list, dict):
            return typing.get_args(candidate)[-1]
    return None


def _pick_model(annotation: Any, data: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation; for a tagged union, the member whose ``type`` matches."""
    models = [c for c in _flatten(annotation) if isinstance(c, type) and issubclass(c, BaseModel)]
    if len(models) > 1 and isinstance(data, dict):
        for model in models:
            field = model.model_fields.get("type")
            if field is not None and data.get("type") in typing.get_args(field.annotation):
                return model
    return models[0] if models else None


def _flatten(annotation: Any, keep_lists: bool = False) -> list:
    """The members of an annotation through Annotated and unions (list/dict kept only with ``keep_lists``)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _flatten(typing.get_args(annotation)[0], keep_lists)
    if origin in (Union, types.UnionType):
        out = []
        for arg in typing.get_args(annotation):
            out += _flatten(arg, keep_lists)
        return out
    if origin in (list, dict) and not keep_lists:
        return []
    return [annotation]
