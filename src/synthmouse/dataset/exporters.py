"""Exporters as plug-ins: the :class:`Exporter` interface and the registry of label formats by name.

An exporter converts a finished :class:`synthmouse.dataset.table.Dataset` (per-frame label rows stored once in
a neutral on-disk form, merged into a :class:`~synthmouse.dataset.table.LabelTable`) into one tool's files.
Because it only reads the finished table, exporting is idempotent and a resumed run produces the same files as
an uninterrupted one. Every file is written atomically (temporary name, then rename).

The dataset package does not import any exporter: a format is named by a ``"module:Class"`` string and loaded
when it is used. The built-in formats (:data:`BUILTIN_EXPORTERS`, in :mod:`synthmouse.export`) are also declared
in the entry-point group :data:`ENTRY_POINT_GROUP`; other packages add formats there::

    [project.entry-points."synthmouse.exporters"]
    myformat = "mypackage.export:MyExporter"

The default format list (no ``--format``) is the built-in formats whose libraries are installed, so installing
a plug-in never changes what a command without ``--format`` writes.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import SynthmouseError

if TYPE_CHECKING:
    from .table import Dataset

ENTRY_POINT_GROUP = "synthmouse.exporters"

# name -> "module:Class", in the order the default format list (and the manifest) names them
BUILTIN_EXPORTERS: dict[str, str] = {
    "dlc": "synthmouse.export.dlc:DeepLabCutExporter",
    "sleap": "synthmouse.export.sleap:SleapExporter",
    "coco": "synthmouse.export.coco:CocoExporter",
    "lp": "synthmouse.export.lightning_pose:LightningPoseExporter",
    "nwb": "synthmouse.export.nwb:NwbExporter",
}


class Exporter(Protocol):
    """A label format: ``name`` (registry key), ``description``, ``missing()`` and ``export(dataset)``."""

    name: str
    description: str

    def missing(self) -> str | None:
        """``None`` when the exporter's libraries are installed; otherwise what to install."""

    def export(self, dataset: Dataset) -> list[Path]:
        """Write the format's files into the dataset folder; return their paths."""


@cache
def registered_exporters() -> dict[str, str]:
    """Every known format: name -> ``"module:Class"``; the built-ins first (a plug-in cannot replace one),
    then the entry points of :data:`ENTRY_POINT_GROUP` sorted by name."""
    plugins = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return {**BUILTIN_EXPORTERS, **{n: plugins[n] for n in sorted(plugins) if n not in BUILTIN_EXPORTERS}}


def load_object(target: str) -> object:
    """The object a ``"package.module:attribute"`` string names."""
    module, _, attribute = target.partition(":")
    obj: object = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


def get_exporter(name: str) -> Exporter:
    """A new exporter of the format registered as ``name`` (raises :class:`SynthmouseError` for an unknown
    name or a plug-in that does not load)."""
    known = registered_exporters()
    if name not in known:
        raise SynthmouseError(f"unknown export format {name!r}; allowed: {', '.join(known)}")
    try:
        factory = load_object(known[name])
    except (ImportError, AttributeError) as exc:
        raise SynthmouseError(f"export format {name!r}: cannot load {known[name]!r} ({exc})") from exc
    return factory()


def resolve_formats(names: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validate format names (comma-separated items allowed) and check their libraries are installed.

    ``None`` or an empty list means every built-in format whose libraries are installed. Raises
    :class:`SynthmouseError` for an unknown name or a format whose libraries are missing, before anything is
    generated.
    """
    if not names:
        return tuple(n for n in BUILTIN_EXPORTERS if get_exporter(n).missing() is None)
    out: list[str] = []
    for item in names:
        for name in (s.strip().lower() for s in str(item).split(",")):
            if name and name not in out:
                out.append(name)
    for name in out:
        missing = get_exporter(name).missing()
        if missing:
            raise SynthmouseError(f"export format {name!r} is not available: {missing}")
    return tuple(out)


def missing_modules(*modules: str) -> list[str]:
    """Names of the given importable modules that are not installed."""
    absent = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            absent.append(module)
    return absent
