"""A trained two-stage pose model and its inference.

Stage 1 (*locator*): the whole frame, shrunk so its long side is ``locator_size`` px, gives one coarse heatmap
of the animal's centre (the middle of its keypoints' bounding box). Stage 2 (*cropper*): a ``crop_size`` square
around that centre at (near) full resolution gives the keypoints, refined to sub-pixel precision
(:func:`synthmouse.pose.heatmap.decode_peaks`); ``refine_passes`` re-centres the crop on its own answer.

Saved as one file ``model.pt``: ``{"config": dict, "locator": state_dict, "cropper": state_dict}``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import SynthmouseError
from ..fileio import atomic_path
from .augment import affine_matrix, apply_affine, invert_affine, warp
from .heatmap import decode_peaks
from .network import OUTPUT_STRIDE, build_network
from .views import ViewRegion, crop_box, merge_views, output_names

MODEL_FILE = "model.pt"


@dataclass
class PoseConfig:
    """Everything that defines a pose model (saved with it)."""

    names: tuple[str, ...]
    flip_perm: tuple[int, ...]
    backbone: str = "unet"
    width: int = 16
    locator_width: int = 12
    crop_size: int = 128
    crop_scale: float = 1.0  # crop pixels per frame pixel
    locator_size: int = 128  # long side of the shrunk frame
    sigma: float = 1.5  # cropper heatmap sigma, cells
    locator_sigma: float = 1.5
    refine_passes: int = 1
    loss: str = "mse"  # bce: the network gives logits (sigmoid -> heatmap); mse: heatmaps directly
    pretrained: bool = True
    extra: dict = field(default_factory=dict)
    augment: dict = field(default_factory=dict)  # the training augmentation (views.Augmentation.to_dict)
    views: tuple[dict, ...] = ()  # views.ViewRegion.to_dict of each view of an image; () one view
    rig_keypoints: tuple[str, ...] = ()  # never flip-swapped

    @property
    def regions(self) -> tuple[ViewRegion, ...]:
        """The views of an image (:class:`synthmouse.pose.views.ViewRegion`); empty for one whole-image view."""
        return tuple(ViewRegion.from_dict(v) for v in self.views)

    @property
    def output_names(self) -> tuple[str, ...]:
        """The keypoints a prediction gives: the labels' names of the views, else :attr:`names`."""
        return output_names(self.regions) if self.views else self.names

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PoseConfig:
        data = dict(data)
        data["names"], data["flip_perm"] = tuple(data["names"]), tuple(data["flip_perm"])
        data["views"] = tuple(data.get("views", ()))
        data["rig_keypoints"] = tuple(data.get("rig_keypoints", ()))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def locator_geometry(width: int, height: int, locator_size: int) -> tuple[float, tuple[int, int]]:
    """Scale and ``(w, h)`` (multiples of 16) of the locator's input for a ``width x height`` frame."""
    scale = locator_size / max(width, height)
    size = tuple(max(16, int(np.ceil(v * scale / 16)) * 16) for v in (width, height))
    return scale, size  # type: ignore[return-value]


def to_tensor(images: list[np.ndarray], device: torch.device | str) -> torch.Tensor:
    """``(B, 1, h, w) float32`` from uint8 or [0, 1] float images, centred on 0."""
    arr = np.stack([im.astype(np.float32) / 255.0 if im.dtype == np.uint8 else im for im in images])
    return torch.from_numpy(arr - 0.5).unsqueeze(1).to(device)


class PoseModel:
    """A locator and a cropper network with their config (see the module docstring)."""

    def __init__(self, config: PoseConfig, device: str | torch.device = "cpu"):
        self.config = config
        self.device = torch.device(device)
        k = len(config.names)
        self.locator = build_network(config.backbone, 1, config.locator_width, config.pretrained).to(self.device)
        self.cropper = build_network(config.backbone, k, config.width, config.pretrained).to(self.device)

    # -------------------------------------------------------------------------------------------- files
    def state(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "locator": self.locator.state_dict(),
            "cropper": self.cropper.state_dict(),
        }

    def save(self, path: str | Path) -> Path:
        """Write ``model.pt`` atomically (``path`` a folder or a file name)."""
        path = Path(path)
        file = path / MODEL_FILE if path.suffix != ".pt" else path
        with atomic_path(file) as tmp:
            torch.save(self.state(), tmp)
        return file

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> PoseModel:
        """A model from ``model.pt`` or a folder holding it."""
        path = Path(path)
        file = path / MODEL_FILE if path.is_dir() else path
        if not file.is_file():
            raise SynthmouseError(f"{file}: no pose model here (train one with `synthmouse train`)")
        state = torch.load(file, map_location="cpu", weights_only=False)
        config = PoseConfig.from_dict(state["config"])
        config.pretrained = False  # the weights come from the file
        model = cls(config, device)
        model.locator.load_state_dict(state["locator"])
        model.cropper.load_state_dict(state["cropper"])
        return model

    # ---------------------------------------------------------------------------------------- inference
    def heatmaps(self, net: torch.nn.Module, images: list[np.ndarray]) -> np.ndarray:
        """``(B, K, h, w)`` heatmaps in [0, 1] (peak ~ confidence) of equally sized images."""
        out = net(to_tensor(images, self.device)).float()
        if self.config.loss == "bce":
            out = torch.sigmoid(out)
        return out.cpu().numpy()

    @torch.no_grad()
    def locate(self, images: list[np.ndarray]) -> np.ndarray:
        """``(B, 2)`` animal centres (frame pixels) of grayscale uint8 frames (frames of one size at a time)."""
        shapes = [im.shape for im in images]
        if len(set(shapes)) > 1:
            out = np.zeros((len(images), 2))
            for shape in set(shapes):
                rows = [i for i, sh in enumerate(shapes) if sh == shape]
                out[rows] = self.locate([images[i] for i in rows])
            return out
        c = self.config
        h, w = images[0].shape
        scale, size = locator_geometry(w, h, c.locator_size)
        centre = np.array([(w - 1) / 2, (h - 1) / 2])
        m = affine_matrix(centre, 0.0, scale, False, size)
        small = [warp(im, m, size) for im in images]
        self.locator.eval()
        hm = self.heatmaps(self.locator, small)
        xy, _ = decode_peaks(hm[:, 0], OUTPUT_STRIDE)
        return apply_affine(invert_affine(m), xy)

    @torch.no_grad()
    def keypoints_in_crops(self, images: list[np.ndarray], centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cropper on ``crop_size`` squares around ``centres (B, 2)``: ``(xy (B, K, 2), conf (B, K))``."""
        c = self.config
        size = (c.crop_size, c.crop_size)
        mats = [affine_matrix(ctr, 0.0, c.crop_scale, False, size) for ctr in centres]
        crops = [warp(im, m, size) for im, m in zip(images, mats, strict=True)]
        self.cropper.eval()
        hm = self.heatmaps(self.cropper, crops)
        xy, conf = decode_peaks(hm, OUTPUT_STRIDE)
        xy = np.stack([apply_affine(invert_affine(m), p) for m, p in zip(mats, xy, strict=True)])
        return xy, conf

    def predict(self, images: list[np.ndarray], batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints of grayscale uint8 frames ``(H, W)``: ``(xy (B, K, 2) float64, confidence (B, K))`` for the
        :attr:`PoseConfig.output_names`; with views, each view's region is predicted on its own and merged back to
        full-image coordinates (:func:`synthmouse.pose.views.merge_views`)."""
        regions = self.config.regions
        if not regions:
            return self.predict_whole(images, batch_size)
        per_view = [self.predict_whole([crop_box(im, r.box) for im in images], batch_size) for r in regions]
        return merge_views(regions, self.config.names, per_view)

    def predict_whole(self, images: list[np.ndarray], batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """The two stages on whole frames: ``(xy (B, C, 2), confidence (B, C))`` for the network's channels."""
        xys, confs = [], []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            centres = self.locate(batch)
            xy, conf = self.keypoints_in_crops(batch, centres)
            for _ in range(self.config.refine_passes):
                xy, conf = self.keypoints_in_crops(batch, box_centres(xy, conf > 0.2))
            xys.append(xy)
            confs.append(conf)
        if not xys:
            k = len(self.config.names)
            return np.zeros((0, k, 2)), np.zeros((0, k))
        return np.concatenate(xys), np.concatenate(confs)


def box_centres(xy: np.ndarray, use: np.ndarray | None = None) -> np.ndarray:
    """``(B, 2)`` middles of the bounding boxes of ``xy (B, K, 2)`` (NaN ignored; only ``use (B, K)`` points,
    all points of a frame where none is used)."""
    xy = np.asarray(xy, dtype=np.float64)
    if use is not None:
        use = use & np.isfinite(xy).all(-1)
        use[~use.any(axis=1)] = True
        xy = np.where(use[..., None], xy, np.nan)
    with np.errstate(all="ignore"):
        return (np.nanmin(xy, axis=1) + np.nanmax(xy, axis=1)) / 2


def read_gray(path: str | Path) -> np.ndarray:
    """An image file as ``(H, W) uint8`` grayscale."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise SynthmouseError(f"{path}: cannot read this image")
    return image
