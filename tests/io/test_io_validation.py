"""synthmouse.io.validation: one line per problem with file, line, field path, value and what is allowed."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthmouse.errors import SynthmouseError
from synthmouse.io.validation import MAX_PROBLEMS, dotted, format_section_error, format_validation_error
from synthmouse.io.yamlio import compose_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Box(_Strict):
    type: Literal["box"] = "box"
    size: float = 1.0


class Ball(_Strict):
    type: Literal["ball"] = "ball"
    radius: float = 1.0


class Root(_Strict):
    name: str
    shapes: list[Annotated[Box | Ball, Field(discriminator="type")]] = []
    count: int = 0


def _error(text: str, **kw) -> str:
    data, node = compose_yaml(text, "f.yaml", error=SynthmouseError)
    with pytest.raises(ValidationError) as info:
        Root.model_validate(data)
    return format_validation_error(info.value, "f.yaml", data, node, **kw)


def test_one_problem_names_file_line_field_and_allowed_keys():
    text = "name: a\nshapes:\n  - type: box\n    size: 2\n  - type: ball\n    radus: 3\n"
    assert _error(text, model=Root) == (
        "f.yaml, line 6: shapes[1].radus: unknown key 'radus'; allowed keys: type, radius"
    )


def test_without_model_unknown_key_has_no_allowed_list():
    assert _error("name: a\nbogus: 1\n") == "f.yaml, line 2: bogus: unknown key 'bogus'"


def test_several_problems_get_a_head_line_and_bad_values():
    text = "count: many\nshapes: [{type: cube}]\n"
    assert _error(text, model=Root, what="the test file") == (
        "3 problems in the test file:\n"
        "  f.yaml, line 1: name: required but missing\n"
        "  f.yaml, line 2: shapes[0]: unknown type 'cube'; allowed: 'box', 'ball'\n"
        "  f.yaml, line 1: count: Input should be a valid integer, unable to parse string as an integer (got 'many')"
    )


def test_without_data_the_error_location_is_the_path():
    with pytest.raises(ValidationError) as info:
        Root.model_validate({"name": "a", "count": [1]})
    assert format_validation_error(info.value, "<x>") == ("<x>: count: Input should be a valid integer (got [1])")


def test_problems_beyond_the_limit_are_counted():
    data = {"name": "a", **{f"k{i}": i for i in range(MAX_PROBLEMS + 5)}}
    with pytest.raises(ValidationError) as info:
        Root.model_validate(data)
    text = format_validation_error(info.value, "f", data)
    assert text.startswith(f"{MAX_PROBLEMS + 5} problems in the file:")
    assert text.endswith("... and 5 more")


def test_section_error_uses_the_callers_locator():
    data = {"name": "a", "shapes": [{"type": "box", "size": "big"}]}
    with pytest.raises(ValidationError) as info:
        Root.model_validate(data)
    text = format_section_error(info.value, "section", data, Root, lambda field, msg: f"s.yaml, line 9: {field}: {msg}")
    assert (
        text == "s.yaml, line 9: section.shapes[0].size: Input should be a valid number, "
        "unable to parse string as a number (got 'big')"
    )


def test_dotted():
    assert dotted(["cameras", 1, "fx"]) == "cameras[1].fx"
    assert dotted([]) == ""
