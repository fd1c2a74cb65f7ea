"""The exporter registry: names, plug-ins by entry point, comma-separated lists, optional formats whose
libraries are missing, and the dataset package never importing the exporters."""

from __future__ import annotations

import ast
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import synthmouse.dataset.exporters as exporters
import synthmouse.export.nwb as nwb
from synthmouse.dataset.exporters import BUILTIN_EXPORTERS, get_exporter, registered_exporters, resolve_formats
from synthmouse.errors import SynthmouseError

DATASET_PACKAGE = Path(exporters.__file__).parent


class PluginExporter:
    """A third-party format (registered through a fake entry point below)."""

    name = "plugin"
    description = "a test plug-in"

    def missing(self) -> str | None:
        return None

    def export(self, dataset) -> list[Path]:
        return []


@pytest.fixture
def plugin(monkeypatch):
    """Entry points of the ``synthmouse.exporters`` group: one plug-in, and one that tries to replace dlc."""
    found = [
        EntryPoint("plugin", f"{__name__}:PluginExporter", exporters.ENTRY_POINT_GROUP),
        EntryPoint("dlc", f"{__name__}:PluginExporter", exporters.ENTRY_POINT_GROUP),
        EntryPoint("broken", "no_such_module_here:Exporter", exporters.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(exporters, "entry_points", lambda group: [ep for ep in found if ep.group == group])
    registered_exporters.cache_clear()
    yield
    registered_exporters.cache_clear()


def test_every_registered_exporter_loads_with_its_name():
    for name in BUILTIN_EXPORTERS:
        assert get_exporter(name).name == name


def test_builtin_formats_are_declared_as_entry_points_too():
    installed = {ep.name: ep.value for ep in exporters.entry_points(group=exporters.ENTRY_POINT_GROUP)}
    assert {name: installed.get(name) for name in BUILTIN_EXPORTERS} == BUILTIN_EXPORTERS


def test_a_plugin_loads_by_name_and_cannot_replace_a_builtin_or_join_the_defaults(plugin):
    assert list(registered_exporters()) == [*BUILTIN_EXPORTERS, "broken", "plugin"]
    assert isinstance(get_exporter("plugin"), PluginExporter)
    assert get_exporter("dlc").name == "dlc"
    assert resolve_formats(["dlc,plugin"]) == ("dlc", "plugin")
    assert "plugin" not in resolve_formats(None)
    with pytest.raises(SynthmouseError, match=r"'broken': cannot load 'no_such_module_here:Exporter'"):
        get_exporter("broken")


def test_unknown_format_names_the_allowed_ones():
    with pytest.raises(SynthmouseError, match=r"unknown export format 'tiff'; allowed: dlc, sleap, coco, lp, nwb"):
        get_exporter("tiff")


def test_format_lists_are_normalized_and_deduplicated():
    assert resolve_formats(["DLC, coco", "coco", "lp"]) == ("dlc", "coco", "lp")


def test_missing_optional_libraries_drop_nwb_from_defaults_and_refuse_it_explicitly(monkeypatch):
    monkeypatch.setattr(nwb, "missing_modules", lambda *modules: ["ndx_pose"])
    assert "nwb" not in resolve_formats(None)
    assert {"dlc", "sleap", "coco", "lp"} <= set(resolve_formats(None))
    with pytest.raises(SynthmouseError, match=r"'nwb' is not available: install the 'nwb' extra.*ndx_pose"):
        resolve_formats(["dlc", "nwb"])


def test_the_dataset_package_imports_no_exporter():
    """Exporters are plug-ins loaded by name: no module of synthmouse.dataset imports synthmouse.export."""
    for path in sorted(DATASET_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = "." * node.level + (node.module or "")
                assert not target.startswith(("..export", "synthmouse.export")), f"{path.name} imports {target}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("synthmouse.export") for a in node.names), path.name
