"""Lightning Pose labels: ``CollectedData_<camera>.csv`` in the dataset folder, one per camera (a view).

The layout is the DeepLabCut CSV Lightning Pose reads with ``pd.read_csv(path, header=[0, 1, 2],
index_col=0)``: three header rows (scorer, bodyparts, coords), one row per image whose first column is the
image path relative to the dataset folder (Lightning Pose's ``data.data_dir``), e.g.
``labeled-data/synth_top/img00000.png``. Keypoints that are not visible are empty (NaN). With several cameras
the files form a multi-view dataset (``data.view_names``; Lightning Pose's multiview layout
``labeled-data/<session>_<view>/``, the Anipose ``calibration.toml`` beside them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..dataset.layout import SCORER
from ..dataset.table import Dataset
from ..fileio import atomic_open


class LightningPoseExporter:
    name = "lp"
    description = "Lightning Pose CSV"

    def missing(self) -> str | None:
        return None

    def export(self, dataset: Dataset) -> list[Path]:
        written = []
        for c, cam in enumerate(dataset.meta.cameras):
            path = dataset.root / f"CollectedData_{cam.name}.csv"
            with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
                lightning_pose_dataframe(dataset, c).to_csv(fh)
            written.append(path)
        return written


def lightning_pose_dataframe(dataset: Dataset, camera: int) -> pd.DataFrame:
    """``(N, 2 B)`` float64 table indexed by relative image path, NaN where a keypoint is not visible."""
    table = dataset.table
    xy = np.where(table.visible[:, camera, :, None], table.xy[:, camera], np.nan)
    columns = pd.MultiIndex.from_product(
        [[SCORER], list(dataset.meta.bodyparts), ["x", "y"]], names=["scorer", "bodyparts", "coords"]
    )
    return pd.DataFrame(xy.reshape(len(xy), -1), index=pd.Index(table.images[camera]), columns=columns)
