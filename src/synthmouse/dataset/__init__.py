"""Dataset generation: the streaming, resumable, reproducible loop, and the finished dataset's neutral tables.

Exporters (one per format) are plug-ins loaded by name (:mod:`synthmouse.dataset.exporters`); the built-in ones
live in :mod:`synthmouse.export`.
"""

from .generation import GenerateOptions, GenerateReport, finalize, generate
from .layout import DatasetLayout
from .meta import CameraInfo, DatasetMeta
from .rows import CameraRow, FrameRow, RowStore
from .source import FrameSource
from .splits import split_by_segment
from .table import Dataset, LabelTable, open_dataset

__all__ = [
    "CameraInfo",
    "CameraRow",
    "Dataset",
    "DatasetLayout",
    "DatasetMeta",
    "FrameRow",
    "FrameSource",
    "GenerateOptions",
    "GenerateReport",
    "LabelTable",
    "RowStore",
    "finalize",
    "generate",
    "open_dataset",
    "split_by_segment",
]
