"""The built-in exporters: one module per label format, each a plug-in behind
:class:`synthmouse.dataset.exporters.Exporter`, registered by name in
:data:`synthmouse.dataset.exporters.BUILTIN_EXPORTERS` (and the ``synthmouse.exporters`` entry points).

Names: ``dlc`` (DeepLabCut, :mod:`.dlc`), ``sleap`` (SLEAP .slp, :mod:`.sleap`), ``coco`` (COCO keypoints,
:mod:`.coco`), ``lp`` (Lightning Pose, :mod:`.lightning_pose`), ``nwb`` (NWB + ndx-pose, optional extra,
:mod:`.nwb`). The dataset's own files (keypoints3d.csv, frames.csv, splits.json, videos) are written by
:mod:`synthmouse.dataset`.
"""

from ..dataset.exporters import BUILTIN_EXPORTERS, Exporter, get_exporter, resolve_formats

__all__ = ["BUILTIN_EXPORTERS", "Exporter", "get_exporter", "resolve_formats"]
