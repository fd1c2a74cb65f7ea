"""Exporters: one module per label format, behind one small interface (:mod:`synthmouse.export.base`).

Registry names: ``dlc`` (DeepLabCut), ``sleap`` (SLEAP .slp), ``coco`` (COCO keypoints), ``lp`` (Lightning
Pose), ``nwb`` (NWB + ndx-pose, optional extra).
"""

from .base import EXPORTERS, Exporter, get_exporter, resolve_formats

__all__ = ["EXPORTERS", "Exporter", "get_exporter", "resolve_formats"]
