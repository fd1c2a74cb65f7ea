"""The exporter interface and the registry of formats by name.

An exporter converts a finished :class:`synthmouse.dataset.table.Dataset` (per-frame label rows stored once in
a neutral on-disk form, merged into a :class:`~synthmouse.dataset.table.LabelTable`) into one tool's files.
Because it only reads the finished table, exporting is idempotent and a resumed run produces the same files as
an uninterrupted one. Every file is written atomically (temporary name, then rename).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import SynthmouseError

if TYPE_CHECKING:
    from ..dataset.table import Dataset


class Exporter(Protocol):
    """A label format: ``name`` (registry key), ``description``, ``missing()`` and ``export(dataset)``."""

    name: str
    description: str

    def missing(self) -> str | None:
        """``None`` when the exporter's libraries are installed; otherwise what to install."""

    def export(self, dataset: Dataset) -> list[Path]:
        """Write the format's files into the dataset folder; return their paths."""


# name -> (module under synthmouse.export, class name, one-line description)
EXPORTERS: dict[str, tuple[str, str, str]] = {
    "dlc": ("dlc", "DeepLabCutExporter", "DeepLabCut 3 project (config.yaml, labeled-data)"),
    "sleap": ("sleap", "SleapExporter", "SLEAP labels (.slp) via sleap-io"),
    "coco": ("coco", "CocoExporter", "COCO keypoints JSON"),
    "lp": ("lightning_pose", "LightningPoseExporter", "Lightning Pose CSV (DLC-style, relative image paths)"),
    "nwb": ("nwb", "NwbExporter", "NWB file with ndx-pose (needs the 'nwb' extra: pynwb, ndx-pose)"),
}


def get_exporter(name: str) -> Exporter:
    """The exporter registered as ``name`` (raises :class:`SynthmouseError` for an unknown name)."""
    try:
        module, cls, _ = EXPORTERS[name]
    except KeyError:
        raise SynthmouseError(f"unknown export format {name!r}; allowed: {', '.join(EXPORTERS)}") from None
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)()


def resolve_formats(names: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validate format names (comma-separated items allowed) and check their libraries are installed.

    ``None`` or an empty list means every format whose libraries are installed. Raises
    :class:`SynthmouseError` for an unknown name or a format whose libraries are missing, before anything is
    generated.
    """
    if not names:
        return tuple(n for n in EXPORTERS if get_exporter(n).missing() is None)
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
