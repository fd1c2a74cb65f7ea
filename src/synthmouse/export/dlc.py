"""DeepLabCut 3 project: ``config.yaml`` and ``labeled-data/<session>/CollectedData_<scorer>.h5/.csv``.

The tables are laid out exactly as DeepLabCut 3 writes and reads them
(``deeplabcut/generate_training_dataset/trainingsetmanipulation.py`` and
``deeplabcut/utils/conversioncode.py``):

* rows: a 3-level ``MultiIndex`` of path components ``("labeled-data", session, "img00000.png")``;
* columns: ``MultiIndex`` levels ``scorer / bodyparts / coords`` with ``coords`` in ``x, y``; float64 values;
* HDF5 key ``df_with_missing`` (pandas "fixed" format, as DLC 3's
  ``to_hdf(..., key="df_with_missing", mode="w")``); CSV with three header rows, read back with
  ``pd.read_csv(path, header=[0, 1, 2], index_col=[0, 1, 2])``.

What is labelled (:func:`dlc_labels`), so that DeepLabCut's own ``create_training_dataset(config)`` accepts the
project as written:

* a keypoint is labelled where it is visible; keypoints the scene's keypoint set lists in ``label_hidden``
  (internal landmarks such as mouse22's neck or tail_root) are labelled at their projection whenever they are
  inside the image, occluded or not, as human labellers estimate hidden joints; every other point is NaN, as
  unlabelled points are in DLC;
* a label must lie in DLC's image box ``0 <= x < width, 0 <= y < height``: labels inside the image's pixel area
  (OpenCV: ``-0.5 <= x < width - 0.5``) but left of or above DLC's box are clipped onto it (by at most half a
  pixel); labels outside the pixel area are NaN;
* body parts labelled in no image of any camera are left out of the project (``config.yaml`` bodyparts and
  skeleton, every table): DLC's bodyparts are project-wide, and a column that is NaN in every row of the merged
  training table is rejected. A body part labelled by one camera only stays, NaN in the other cameras' tables;
* ``TrainingFraction`` is ``train / (train + test)`` of ``splits.json``, rounded to DLC's two decimals (DLC builds
  no shuffle for a fraction with more), so ``create_training_dataset(config)`` makes a shuffle as it stands and
  passing ``splits.json``'s ``trainIndices``/``testIndices`` gives a shuffle DLC finds under that fraction.

The dataset folder itself is the DLC project (``project_path``), one session per camera.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..dataset.layout import SCORER
from ..dataset.table import Dataset
from ..fileio import atomic_open, atomic_path

REFINEMENT_COMMENT = (
    "Refinement configuration (parameters from annotation dataset configuration also relevant in this stage)"
)


LABEL_HIDDEN = "label_hidden"  # DatasetMeta.extra key: body parts labelled at their projection when hidden
HALF_PIXEL = 0.5


class DeepLabCutExporter:
    name = "dlc"
    description = "DeepLabCut 3 project"

    def missing(self) -> str | None:
        try:
            import tables  # noqa: F401
        except ImportError:
            return "install PyTables ('pip install tables') to write DeepLabCut .h5 files"
        return None

    def export(self, dataset: Dataset) -> list[Path]:
        labels, bodyparts = dlc_labels(dataset)
        written = []
        for c, cam in enumerate(dataset.meta.cameras):
            frame = dlc_dataframe(dataset, c, labels, bodyparts)
            folder = dataset.layout.labeled_dir(cam.name)
            base = folder / f"CollectedData_{SCORER}"
            write_dlc_h5(frame, base.with_suffix(".h5"))
            with atomic_open(base.with_suffix(".csv"), "w", encoding="utf-8", newline="") as fh:
                frame.to_csv(fh)
            written += [base.with_suffix(".h5"), base.with_suffix(".csv")]
        config = dataset.root / "config.yaml"
        with atomic_open(config, "w", encoding="utf-8") as fh:
            fh.write(dlc_config_yaml(dataset, bodyparts))
        return [config, *written]


def dlc_labels(dataset: Dataset) -> tuple[np.ndarray, tuple[str, ...]]:
    """DLC labels of every camera and the body parts the project keeps (see the module docstring).

    Returns:
        ``(N, C, B, 2) float64`` pixel labels over ``meta.bodyparts``, NaN where unlabelled, inside DLC's image
        box ``[0, width) x [0, height)``; and the body parts labelled at least once (in ``meta.bodyparts``
        order; all of them when nothing is labelled at all, so that the config still names the scene's set).
    """
    table, meta = dataset.table, dataset.meta
    hidden = np.isin(np.asarray(meta.bodyparts, dtype=object), list(meta.extra.get(LABEL_HIDDEN, ())))
    labelled = table.visible | (table.in_image & hidden[None, None, :])
    size = np.array([[cam.width, cam.height] for cam in meta.cameras], dtype=np.float64)[None, :, None, :]
    with np.errstate(invalid="ignore"):  # NaN coordinates compare False: never labelled
        in_pixels = ((table.xy >= -HALF_PIXEL) & (table.xy < size - HALF_PIXEL)).all(axis=-1)
    keep = labelled & in_pixels
    labels = np.where(keep[..., None], np.maximum(table.xy, 0.0), np.nan)
    used = keep.any(axis=(0, 1)) if keep.any() else np.ones(len(meta.bodyparts), bool)
    return labels, tuple(name for name, u in zip(meta.bodyparts, used, strict=True) if u)


def dlc_dataframe(
    dataset: Dataset, camera: int, labels: np.ndarray | None = None, bodyparts: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """The DLC label table of one camera: ``(N, 2 B)`` float64 over ``bodyparts`` (default: those
    :func:`dlc_labels` keeps), NaN where unlabelled."""
    if labels is None or bodyparts is None:
        labels, bodyparts = dlc_labels(dataset)
    table, layout = dataset.table, dataset.layout
    session = layout.session(dataset.meta.cameras[camera].name)
    columns_of = {name: b for b, name in enumerate(dataset.meta.bodyparts)}
    xy = labels[:, camera, [columns_of[name] for name in bodyparts]]
    index = pd.MultiIndex.from_tuples([tuple(path.split("/")) for path in table.images[camera]])
    assert all(t[1] == session for t in index), "image paths must lie in the camera's labeled-data folder"
    columns = pd.MultiIndex.from_product(
        [[SCORER], list(bodyparts), ["x", "y"]], names=["scorer", "bodyparts", "coords"]
    )
    return pd.DataFrame(xy.reshape(len(xy), -1).astype(np.float64), index=index, columns=columns)


@contextlib.contextmanager
def _untimed_pytables() -> Iterator[None]:
    """Make PyTables create its HDF5 nodes without modification timestamps, so equal tables give equal bytes.

    pandas offers no way to pass ``track_times=False``; the node factories of ``tables.File`` get it for the
    duration of the block (restored afterwards, also on error).
    """
    import tables

    names = ("create_array", "create_carray", "create_earray", "create_table", "create_vlarray")
    originals = {n: getattr(tables.File, n) for n in names}

    def untimed(original):
        def create(self, *args, **kwargs):
            kwargs["track_times"] = False
            return original(self, *args, **kwargs)

        return create

    try:
        for n, original in originals.items():
            setattr(tables.File, n, untimed(original))
        yield
    finally:
        for n, original in originals.items():
            setattr(tables.File, n, original)


def write_dlc_h5(frame: pd.DataFrame, path: Path) -> None:
    """Write a DLC table to ``path`` under key ``df_with_missing``, byte-reproducibly and atomically."""
    with atomic_path(path) as tmp, _untimed_pytables():
        frame.to_hdf(tmp, key="df_with_missing", mode="w")


def training_fraction(n_train: int, n_test: int) -> float:
    """DLC's ``TrainingFraction`` for a split of ``n_train`` / ``n_test`` frames: ``n_train / (n_train + n_test)``
    rounded to two decimals (DLC's ``SplitTrials`` builds nothing for a fraction with more, and DLC rounds a
    passed split's fraction the same way), kept in ``[0.01, 0.99]`` (DLC needs images to train and to test on);
    0.8 when both are empty."""
    if n_train + n_test == 0:
        return 0.8
    return float(min(max(round(n_train / (n_train + n_test), 2), 0.01), 0.99))


def dlc_config_yaml(dataset: Dataset, bodyparts: tuple[str, ...] | None = None) -> str:
    """``config.yaml`` text with DeepLabCut 3's keys, order and section comments (single-animal project) for
    ``bodyparts`` (default: all of ``meta.bodyparts``); the skeleton keeps the edges between them."""
    meta, identity = dataset.meta, dataset.identity
    bodyparts = tuple(meta.bodyparts) if bodyparts is None else tuple(bodyparts)
    first = meta.cameras[0]
    fraction = training_fraction(len(dataset.splits.get("train", ())), len(dataset.splits.get("test", ())))
    skeleton = [[a, b] for a, b in meta.edges if a in bodyparts and b in bodyparts]
    video_sets = {
        str(dataset.layout.video_path(c.name).absolute()): {"crop": f"0, {c.width}, 0, {c.height}"}
        for c in meta.cameras
    }
    sections = [
        (
            "Project definitions (do not edit)",
            {
                "Task": meta.scene_name,
                "scorer": SCORER,
                "date": f"seed{identity.seed}",
                "multianimalproject": False,
                "identity": None,
            },
        ),
        ("Project path (change when moving around)", {"project_path": str(dataset.root.absolute())}),
        ("Default DeepLabCut engine to use for shuffle creation (either pytorch or tensorflow)", {"engine": "pytorch"}),
        (
            "Annotation data set configuration (and individual video cropping parameters)",
            {
                "video_sets": video_sets,
                "bodyparts": list(bodyparts),
            },
        ),
        (
            "Fraction of video to start/stop when extracting frames for labeling/refinement",
            {
                "start": 0,
                "stop": 1,
                "numframes2pick": 20,
            },
        ),
        (
            "Plotting configuration",
            {
                "skeleton": skeleton,
                "skeleton_color": "black",
                "pcutoff": 0.6,
                "dotsize": 12,
                "alphavalue": 0.7,
                "colormap": "rainbow",
            },
        ),
        (
            "Training,Evaluation and Analysis configuration",
            {
                "TrainingFraction": [fraction],
                "iteration": 0,
                "default_net_type": "resnet_50",
                "default_augmenter": "default",
                "snapshotindex": -1,
                "detector_snapshotindex": -1,
                "batch_size": 8,
                "detector_batch_size": 1,
            },
        ),
        (
            "Cropping Parameters (for analysis and outlier frame detection)",
            {
                "cropping": False,
                "x1": 0,
                "x2": first.width,
                "y1": 0,
                "y2": first.height,
            },
        ),
        (REFINEMENT_COMMENT, {"corner2move2": [50, 50], "move2corner": True}),
    ]
    parts = []
    for comment, values in sections:
        body = yaml.safe_dump(values, sort_keys=False, default_flow_style=False, allow_unicode=True)
        parts.append(f"# {comment}\n{body}")
    return "\n".join(parts)
