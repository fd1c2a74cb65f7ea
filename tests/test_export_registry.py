"""The exporter registry: names, comma-separated lists, optional formats whose libraries are missing."""

from __future__ import annotations

import pytest

import synthmouse.export.nwb as nwb
from synthmouse.errors import SynthmouseError
from synthmouse.export.base import EXPORTERS, get_exporter, resolve_formats


def test_every_registered_exporter_loads_with_its_name():
    for name in EXPORTERS:
        assert get_exporter(name).name == name


def test_format_lists_are_normalized_and_deduplicated():
    assert resolve_formats(["DLC, coco", "coco", "lp"]) == ("dlc", "coco", "lp")


def test_missing_optional_libraries_drop_nwb_from_defaults_and_refuse_it_explicitly(monkeypatch):
    monkeypatch.setattr(nwb, "missing_modules", lambda *modules: ["ndx_pose"])
    assert "nwb" not in resolve_formats(None)
    assert {"dlc", "sleap", "coco", "lp"} <= set(resolve_formats(None))
    with pytest.raises(SynthmouseError, match=r"'nwb' is not available: install the 'nwb' extra.*ndx_pose"):
        resolve_formats(["dlc", "nwb"])
