"""SLEAP labels through sleap-io: ``sleap/labels.slp`` (every frame) and ``sleap/{train,val,test}.slp``.

A split file holds the frames of that split of ``splits.json`` (gap frames are in ``labels.slp`` only). A split
with no frame has no file (sleap-nn fails on a labels file without frames); a file of an earlier export of that
split is removed, so the folder always matches ``splits.json``.

One skeleton (nodes = body parts, edges = the scene's skeleton edges), one image-sequence video per camera
(the absolute paths of that camera's images in frame order, so SLEAP finds them from any working folder), one
user-labelled instance per image. Keypoints inside the image carry their coordinates; the ``visible`` flag is
set only for unoccluded ones (SLEAP treats the others as missing); keypoints outside the image are NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dataset.splits import SPLIT_NAMES
from ..dataset.table import Dataset
from ..fileio import atomic_path

FOLDER = "sleap"


class SleapExporter:
    name = "sleap"
    description = "SLEAP .slp via sleap-io"

    def missing(self) -> str | None:
        try:
            import sleap_io  # noqa: F401
        except ImportError:
            return "install sleap-io ('pip install sleap-io')"
        return None

    def export(self, dataset: Dataset) -> list[Path]:
        import sleap_io as sio

        folder = dataset.root / FOLDER
        split_of = dataset.split_of_frames()
        targets = {"all": folder / "labels.slp"} | {s: folder / f"{s}.slp" for s in SPLIT_NAMES}
        written = []
        for key, path in targets.items():
            frames = [i for i in range(dataset.n_frames) if key == "all" or split_of[i] == key]
            if not frames:
                path.unlink(missing_ok=True)
                continue
            labels = sleap_labels(dataset, frames)
            with atomic_path(path) as tmp:
                sio.save_slp(labels, str(tmp), verbose=False)
            written.append(path)
        return written


def sleap_labels(dataset: Dataset, frames: list[int]):
    """A ``sleap_io.Labels`` with one labelled frame per camera for each of ``frames``."""
    import sleap_io as sio

    meta, table = dataset.meta, dataset.table
    skeleton = sio.Skeleton(nodes=list(meta.bodyparts), edges=[list(e) for e in meta.edges], name="mouse")
    labeled, videos = [], []
    for c in range(len(meta.cameras)):
        paths = [str((dataset.root / rel).absolute()) for rel in table.images[c]]
        video = sio.Video.from_filename(paths)
        videos.append(video)
        xy = np.where(table.in_image[:, c, :, None], table.xy[:, c], np.nan)
        visible = table.visible[:, c].astype(np.float64)
        for i in frames:
            points = np.concatenate([xy[i], visible[i][:, None]], axis=1)
            instance = sio.Instance.from_numpy(points, skeleton=skeleton)
            labeled.append(sio.LabeledFrame(video=video, frame_idx=i, instances=[instance]))
    return sio.Labels(labeled_frames=labeled, videos=videos, skeletons=[skeleton])
