"""Where every file of a dataset lives (one place, so the loop, the exporters and preview agree).

```
DIR/
  config.yaml                         DeepLabCut project config (the dataset folder is a DLC project)
  labeled-data/<camera>/img00000.png  images, one folder per camera (DLC, Lightning Pose and COCO read them
  here) labeled-data/synth_<camera>/CollectedData_synthmouse.h5/.csv  DeepLabCut labels
  videos/synth_<camera>.mp4           with --video: H.264, frame i = image i
  CollectedData_<camera>.csv          Lightning Pose labels, one per view (data_dir = DIR)
  coco/annotations.json               COCO keypoints (image file names relative to DIR)
  sleap/labels.slp                    SLEAP labels (image-sequence videos)
  nwb/dataset.nwb                     NWB with ndx-pose
  calibration.toml                    Anipose camera calibration
  depth/<camera>/img00000.png         with outputs.ground_truth depth: 16-bit depth, millimetres (0 = no hit)
  mask/<camera>/img00000.png          with mask: 8-bit mouse mask (255 on the mouse, 0 elsewhere)
  parts/<camera>/img00000.png         with parts: 8-bit body-part ids (synthmouse.body.groups.PARTS)
  parts/legend.json                   with parts: id -> part name
  keypoints3d.csv                     3D ground truth, world metres
  frames.csv                          per-frame parameters (motion, segment, split, randomized values)
  splits.json                         train/val/test by motion segment
  manifest.json                       version, scene hash, seed, counts, sha256 of every file
  preview/                            contact sheet and overlay video (synthmouse preview)
  .synthmouse/state.json              run identity (for resuming and refusing foreign folders)
  .synthmouse/rows/00000000.json      per-frame label rows (the neutral form exporters read)
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".synthmouse"
PREVIEW_DIR = "preview"  # contact sheet and overlay video (not part of the manifest)
SCORER = "synthmouse"
SESSION = "synth"


@dataclass(frozen=True)
class DatasetLayout:
    """Paths of one dataset rooted at ``root`` with ``n_frames`` frames and images of type ``image_ext``."""

    root: Path
    n_frames: int
    image_ext: str = "png"

    @property
    def digits(self) -> int:
        """Digits of the zero-padded frame number in image names (at least 5, as ``img00000.png``)."""
        return max(5, len(str(max(self.n_frames - 1, 0))))

    # internal state
    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def rows_dir(self) -> Path:
        return self.state_dir / "rows"

    # images and videos
    def session(self, camera: str) -> str:
        """Name of a camera's labeled-data folder and video stem: ``synth_<camera>``.

        DeepLabCut calls it the session (a video's stem); Lightning Pose's multiview layout reads it as
        ``<session>_<view>``.
        """
        return f"{SESSION}_{camera}"

    def image_rel(self, camera: str, index: int) -> str:
        """Image path relative to the root, posix separators."""
        return f"labeled-data/{self.session(camera)}/img{index:0{self.digits}d}.{self.image_ext}"

    def image_path(self, camera: str, index: int) -> Path:
        return self.root / self.image_rel(camera, index)

    # ground-truth images (depth, mask, parts), always PNG
    def label_image_rel(self, kind: str, camera: str, index: int) -> str:
        """Path of a ground-truth image (``kind``: depth, mask or parts) relative to the root, posix."""
        return f"{kind}/{camera}/img{index:0{self.digits}d}.png"

    def label_image_path(self, kind: str, camera: str, index: int) -> Path:
        return self.root / self.label_image_rel(kind, camera, index)

    @property
    def parts_legend(self) -> Path:
        return self.root / "parts" / "legend.json"

    def labeled_dir(self, camera: str) -> Path:
        return self.root / "labeled-data" / self.session(camera)

    def video_rel(self, camera: str) -> str:
        return f"videos/{self.session(camera)}.mp4"

    def video_path(self, camera: str) -> Path:
        return self.root / self.video_rel(camera)

    # label files
    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def splits(self) -> Path:
        return self.root / "splits.json"

    @property
    def frames_table(self) -> Path:
        return self.root / "frames.csv"

    @property
    def keypoints3d(self) -> Path:
        return self.root / "keypoints3d.csv"

    @property
    def calibration(self) -> Path:
        return self.root / "calibration.toml"
