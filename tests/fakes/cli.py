"""Assertions on CLI output."""

from __future__ import annotations


def one_line_error(err: str, *parts: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for part in parts:
        assert part in lines[0], (part, lines[0])
    assert "Traceback" not in err
