"""Training the two-stage heatmap model (:mod:`synthmouse.pose.model`) from labelled sets.

Each step draws a batch: a source by its weight (e.g. synthetic frames and a few real ones), a frame
uniformly, then a random affine warp (crop jitter, rotation, scale, mirror flip with left/right swap) and
photometric jitter. The loss is a weighted squared error against Gaussian heatmaps (unlabelled keypoints have
weight 0). AdamW with a warm-up and a cosine decay. A checkpoint (``checkpoint.pt``: weights, optimiser,
step, random state) is written atomically every ``checkpoint_every`` steps; rerunning the same training in the
same folder resumes from it. The locator (one heatmap: the middle of the keypoints' bounding box) trains
first (``locator_steps``), then the cropper (``steps``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import SynthmouseError
from ..fileio import atomic_open, atomic_path
from ..io.labels import LabelledFrames, concatenate
from .augment import Photometric, affine_matrix, apply_affine, photometric, warp
from .heatmap import gaussian_targets
from .labels import TRAINING_FRAMES_FILE, file_sha256, flip_permutation
from .model import PoseConfig, PoseModel, box_centres, locator_geometry, read_gray, to_tensor
from .network import OUTPUT_STRIDE
from .views import Augmentation, ViewRegion, channel_names, crop_box, split_views

CHECKPOINT_FILE = "checkpoint.pt"
ProgressFn = Callable[[str, int, int, float], None]


@dataclass
class TrainOptions:
    """Training budget and augmentation (saved in ``train.json``)."""

    steps: int = 1000  # cropper steps
    locator_steps: int | None = None  # default: steps // 2
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 30
    rotation_deg: float = 180.0  # cropper rotation range (+-); top views are rotation invariant
    locator_rotation_deg: float = 20.0
    scale_range: tuple[float, float] = (0.8, 1.25)
    crop_jitter: float = 0.12  # of the crop size: simulated locator error
    flip: bool = True
    photometric: Photometric = field(default_factory=Photometric)
    seed: int = 0
    checkpoint_every: int = 100
    device: str = "auto"
    threads: int | None = None

    @property
    def n_locator_steps(self) -> int:
        return self.steps // 2 if self.locator_steps is None else int(self.locator_steps)

    def with_augmentation(self, augmentation: Augmentation) -> TrainOptions:
        """These options with ``augmentation``'s rotation range, scale range and flips (the locator's rotation
        range never wider than the cropper's)."""
        return dataclasses.replace(
            self,
            rotation_deg=augmentation.rotation_deg,
            locator_rotation_deg=min(self.locator_rotation_deg, augmentation.rotation_deg),
            scale_range=tuple(augmentation.scale_range),
            flip=augmentation.flip,
        )


@dataclass(frozen=True)
class Source:
    """A labelled set and its share of the batches; ``real``: human-labelled frames (recorded with the model so
    that ``evaluate`` can keep them apart); ``pairs``: the ``(label name, model name)`` pairs they were renamed
    through."""

    data: LabelledFrames
    weight: float = 1.0
    real: bool = False
    pairs: tuple[tuple[str, str], ...] = ()


MIN_SAMPLES = 6400
"""Training samples (steps x batch) a model needs at least: the smallest budget that converged in the
sim-to-real benchmark (``--steps 800``, batch 8; docs/results/README.md)."""
MIN_PASSES = 1.0
"""Passes over each training source's frames (at its share of the batches) a model should get at least."""


def recommended_steps(sources: Sequence[Source], batch_size: int) -> int:
    """Cropper steps this training needs at least: :data:`MIN_SAMPLES` samples, and every source's frames seen
    :data:`MIN_PASSES` times at its share of the batches (``passes * frames / (share * batch)``)."""
    total = sum(s.weight for s in sources if len(s.data)) or 1.0
    need = MIN_SAMPLES / batch_size
    for s in sources:
        if len(s.data) and s.weight > 0:
            need = max(need, MIN_PASSES * len(s.data) / (s.weight / total * batch_size))
    return int(math.ceil(need))


def steps_warning(sources: Sequence[Source], steps: int, batch_size: int) -> str | None:
    """A one-line warning when ``steps`` is far below (less than half) :func:`recommended_steps`, else None."""
    need = recommended_steps(sources, batch_size)
    if steps * 2 >= need:
        return None
    total = sum(s.weight for s in sources if len(s.data)) or 1.0
    biggest = max((s for s in sources if len(s.data)), key=lambda s: len(s.data))
    passes = steps * batch_size * biggest.weight / total / len(biggest.data)
    what = "real" if biggest.real else "training"
    return (
        f"--steps {steps} is far below what this training needs: {steps} steps x batch {batch_size} = "
        f"{steps * batch_size} samples, {passes:.2g} passes over the {len(biggest.data)} {what} frames; "
        f"recommended: --steps {need} or more (each frame seen at least once, and at least {MIN_SAMPLES} "
        "samples; docs/pose.md). With fewer the model is undertrained and its errors say little about the "
        "data."
    )


def pick_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def animal_extent(data: LabelledFrames) -> float:
    """Median over frames of the largest distance between two labelled keypoints (pixels)."""
    kp = data.xy
    d = np.linalg.norm(kp[:, :, None] - kp[:, None, :], axis=-1)
    per_frame = np.nanmax(np.where(np.isfinite(d), d, -np.inf), axis=(1, 2))
    per_frame = per_frame[np.isfinite(per_frame) & (per_frame > 0)]
    return float(np.median(per_frame)) if per_frame.size else 0.0


def default_config(
    sources: Sequence[Source],
    backbone: str = "unet",
    crop_size: int = 128,
    pretrained: bool = True,
    *,
    flip_pairs: Sequence[tuple[str, str]] = (),
    rig_keypoints: Sequence[str] = (),
    views: Sequence[ViewRegion] = (),
    augmentation: Augmentation | None = None,
    **overrides,
) -> PoseConfig:
    """A config for these sources: their keypoint names (with ``views``: the views' channels), flip pairs (the
    naming schemes' and ``flip_pairs``; ``rig_keypoints`` never swapped) and a crop scale that fits the animal
    (its median extent at most 0.7 of the crop, in one view; never enlarged); ``augmentation`` is recorded."""
    if crop_size % 16 or crop_size < 16:
        raise SynthmouseError(f"--crop-size {crop_size}: give a multiple of 16 (e.g. 64, 128, 192)")
    data = _concat([s.data for s in sources])
    names = tuple(data.names)
    rig = tuple(n for n in rig_keypoints if n in names)
    fixed = set(rig)
    if views:
        names = channel_names(views)
        fixed = {c for r in views for label, c in r.channels if label in rig or c in rig}
        data = split_views(data, views)[0]
    extent = animal_extent(data)
    scale = min(1.0, 0.7 * crop_size / extent) if extent > 0 else 1.0
    perm = flip_permutation(names, _channel_pairs(flip_pairs, views), sorted(fixed))
    return PoseConfig(
        names=tuple(names),
        flip_perm=tuple(int(i) for i in perm),
        backbone=backbone,
        crop_size=crop_size,
        crop_scale=float(scale),
        pretrained=pretrained,
        augment=augmentation.to_dict() if augmentation is not None else {},
        views=tuple(r.to_dict() for r in views),
        rig_keypoints=rig,
        **overrides,
    )


def _channel_pairs(pairs: Sequence[tuple[str, str]], views: Sequence[ViewRegion]) -> list[tuple[str, str]]:
    """``--flip-pairs`` label names as channel names (with views), each pair once."""
    to_channel = {label: c for r in views for label, c in r.channels}
    out = []
    for a, b in pairs:
        pair = (to_channel.get(a, a), to_channel.get(b, b))
        if pair not in out and pair[::-1] not in out:
            out.append(pair)
    return out


def config_flip_pairs(config: PoseConfig) -> list[tuple[str, str]]:
    """The ``(a, b)`` keypoint pairs a flip swaps in ``config`` (each once)."""
    return [(config.names[j], config.names[i]) for j, i in enumerate(config.flip_perm) if i > j]


def _concat(sets: Sequence[LabelledFrames]) -> LabelledFrames:
    return concatenate(list(sets))


class ImageCache:
    """Grayscale frames read once and kept (up to ``max_bytes``)."""

    def __init__(self, max_bytes: int = 2_000_000_000):
        self._images: dict[Path, np.ndarray] = {}
        self._bytes = 0
        self.max_bytes = max_bytes

    def get(self, path: Path) -> np.ndarray:
        image = self._images.get(path)
        if image is None:
            image = read_gray(path)
            if self._bytes + image.nbytes <= self.max_bytes:
                self._images[path] = image
                self._bytes += image.nbytes
        return image


class BatchMaker:
    """Random augmented batches for the locator or the cropper (see the module docstring)."""

    def __init__(
        self, sources: Sequence[Source], config: PoseConfig, options: TrainOptions, cache: ImageCache | None = None
    ):
        self.sources, self.boxes = self._view_samples(sources, config)
        usable = [np.flatnonzero(np.isfinite(s.data.xy).all(-1).any(-1)) for s in self.sources]
        for s, u in zip(self.sources, usable, strict=True):
            if len(s.data) and not len(u):
                raise SynthmouseError(f"a training set ({s.data.images[0].parent}) has no labelled keypoints")
        self.usable = usable
        w = np.array([s.weight if len(u) else 0.0 for s, u in zip(self.sources, usable, strict=True)])
        if w.sum() <= 0:
            raise SynthmouseError("no labelled frames to train on")
        self.p = w / w.sum()
        self.config, self.options = config, options
        self.cache = cache or ImageCache()
        self.perm = np.asarray(config.flip_perm)
        self.locator_canvas = self._locator_canvas()

    @staticmethod
    def _view_samples(sources: Sequence[Source], config: PoseConfig) -> tuple[list[Source], list[np.ndarray | None]]:
        """The sources in the config's keypoint order; with views one sample per frame and view, and the region
        box of each sample (:func:`synthmouse.pose.views.split_views`)."""
        regions = config.regions
        if not regions:
            return [Source(s.data.reorder(config.names), s.weight) for s in sources], [None] * len(sources)
        split = [split_views(s.data, regions) for s in sources]
        return [Source(d, s.weight) for (d, _), s in zip(split, sources, strict=True)], [b for _, b in split]

    def _locator_canvas(self) -> tuple[int, int]:
        """``(w, h)`` of every locator sample: the largest locator input of the frames (:func:`locator_geometry`).
        Frames of one size fill it exactly; a camera of another size or aspect ratio is shrunk the same way (long
        side to ``locator_size``) and centred in it, the rest filled by its replicated border (letterbox)."""
        sizes = []
        for s_i, (s, u) in enumerate(zip(self.sources, self.usable, strict=True)):
            if s.data.sizes is not None:
                sizes += [tuple(int(v) for v in wh) for wh in s.data.sizes[u]]
            else:
                sizes += [self._image(s_i, i).shape[::-1] for i in u]
        inputs = [locator_geometry(w, h, self.config.locator_size)[1] for w, h in set(sizes)]
        return max(i[0] for i in inputs), max(i[1] for i in inputs)

    def _draw_frame(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        s = int(rng.choice(len(self.sources), p=self.p))
        i = int(rng.choice(self.usable[s]))
        return self._image(s, i), self.sources[s].data.xy[i]

    def _image(self, source: int, row: int) -> np.ndarray:
        """The image of a sample (its view's region with views)."""
        image = self.cache.get(self.sources[source].data.images[row])
        boxes = self.boxes[source]
        return image if boxes is None else crop_box(image, boxes[row])

    def _sample(self, rng: np.random.Generator, stage: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c, o = self.config, self.options
        image, kp = self._draw_frame(rng)
        h, w = image.shape
        flip = bool(o.flip and rng.random() < 0.5)
        zoom = float(np.exp(rng.uniform(*np.log(o.scale_range))))
        if stage == "locator":
            base, size = locator_geometry(w, h, c.locator_size)[0], self.locator_canvas
            centre = np.array([(w - 1) / 2, (h - 1) / 2]) + rng.uniform(-0.05, 0.05, 2) * (w, h)
            rotation = min(o.locator_rotation_deg, o.rotation_deg)
            angle = np.radians(rng.uniform(-rotation, rotation))
            sigma = c.locator_sigma
        else:
            base, size = c.crop_scale, (c.crop_size, c.crop_size)
            centre = box_centres(kp[None])[0] + rng.uniform(-1, 1, 2) * o.crop_jitter * c.crop_size / c.crop_scale
            angle = np.radians(rng.uniform(-o.rotation_deg, o.rotation_deg))
            sigma = c.sigma
        m = affine_matrix(centre, angle, base * zoom, flip, size)
        crop = warp(image, m, size).astype(np.float32) / 255.0
        crop = photometric(crop, rng, o.photometric)
        pts = apply_affine(m, kp)
        if flip:
            pts = pts[self.perm]
        if stage == "locator":
            pts = box_centres(pts[None])
        shape = (size[1] // OUTPUT_STRIDE, size[0] // OUTPUT_STRIDE)
        target = gaussian_targets(pts, shape, OUTPUT_STRIDE, sigma)
        weight = np.isfinite(pts).all(-1).astype(np.float32)
        return crop, target, weight

    def batch(self, rng: np.random.Generator, stage: str, device) -> tuple[torch.Tensor, ...]:
        samples = [self._sample(rng, stage) for _ in range(self.options.batch_size)]
        images = to_tensor([s[0] for s in samples], device)
        targets = torch.from_numpy(np.stack([s[1] for s in samples])).to(device)
        weights = torch.from_numpy(np.stack([s[2] for s in samples])).to(device)
        return images, targets, weights


def heatmap_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Per-pixel binary cross-entropy on logits (``bce``) or squared error (``mse``) against the Gaussians,
    10x heavier near the peaks, per keypoint weighted (0: unlabelled)."""
    if kind == "bce":
        err = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
    else:
        err = (pred - target).square()
    err = err * (1.0 + 9.0 * target)
    return (err.mean(dim=(2, 3)) * weight).sum() / weight.sum().clamp(min=1.0)


def lr_at(step: int, total: int, options: TrainOptions) -> float:
    """Linear warm-up then cosine decay to 2 % of ``options.lr``."""
    if step < options.warmup:
        return options.lr * (step + 1) / options.warmup
    t = (step - options.warmup) / max(1, total - options.warmup)
    return options.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def _options_dict(options: TrainOptions) -> dict:
    data = dataclasses.asdict(options)
    data.pop("device")
    data.pop("threads")
    data.pop("checkpoint_every")
    return json.loads(json.dumps(data))


def _save_checkpoint(
    out: Path, model: PoseModel, opts: dict, stage: str, step: int, rng: np.random.Generator, meta: dict
) -> None:
    state = {
        "model": model.state(),
        "optimizers": opts,
        "stage": stage,
        "step": step,
        "rng": rng.bit_generator.state,
        "meta": meta,
    }
    with atomic_path(out / CHECKPOINT_FILE) as tmp:
        torch.save(state, tmp)


def train_pose_model(
    sources: Sequence[Source],
    out: str | Path,
    config: PoseConfig,
    options: TrainOptions | None = None,
    init: PoseModel | None = None,
    progress: ProgressFn | None = None,
) -> PoseModel:
    """Train (or resume) a model in folder ``out``; returns it after writing ``out/model.pt``.

    Args:
        sources: labelled sets with their batch shares.
        out: model folder (``model.pt``, ``checkpoint.pt`` while training, ``train.json``,
            ``training_frames.json``: the frames trained on, :func:`write_training_frames`).
        config: the model definition (:func:`default_config`).
        options: budget and augmentation.
        init: start from these weights (fine-tuning) instead of ImageNet/random.
        progress: called as ``progress(stage, step, total, loss)`` after each step.
    """
    options = options or TrainOptions()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(options.device)
    if options.threads:
        torch.set_num_threads(int(options.threads))
    meta = {
        "config": config.to_dict(),
        "options": _options_dict(options),
        "sources": [[str(s.data.images[0].parent) if len(s.data) else "", len(s.data), s.weight] for s in sources],
    }
    torch.manual_seed(options.seed)  # the initial weights
    model = PoseModel(config, device)
    if init is not None:
        model.locator.load_state_dict(init.locator.state_dict())
        model.cropper.load_state_dict(init.cropper.state_dict())
    rng = np.random.default_rng(np.random.SeedSequence([options.seed, 1]))
    nets = {"locator": model.locator, "cropper": model.cropper}
    totals = {"locator": options.n_locator_steps, "cropper": options.steps}
    optims = {
        k: torch.optim.AdamW(n.parameters(), lr=options.lr, weight_decay=options.weight_decay) for k, n in nets.items()
    }
    start_stage, start_step = "locator", 0
    ckpt = out / CHECKPOINT_FILE
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        if state.get("meta") != meta:
            raise SynthmouseError(
                f"{ckpt}: a checkpoint of another training is here; use another --out folder or delete it"
            )
        model.locator.load_state_dict(state["model"]["locator"])
        model.cropper.load_state_dict(state["model"]["cropper"])
        for k, opt in optims.items():
            opt.load_state_dict(state["optimizers"][k])
        start_stage, start_step = state["stage"], state["step"]
        rng.bit_generator.state = state["rng"]
    batches = BatchMaker(sources, config, options)
    for stage in ("locator", "cropper"):
        if stage == "locator" and start_stage == "cropper":
            continue
        net, opt, total = nets[stage], optims[stage], totals[stage]
        net.train()
        first = start_step if stage == start_stage else 0
        for step in range(first, total):
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, options)
            images, targets, weights = batches.batch(rng, stage, device)
            loss = heatmap_loss(net(images), targets, weights, config.loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if progress is not None:
                progress(stage, step + 1, total, float(loss.detach()))
            done = step + 1
            if done % options.checkpoint_every == 0 or done == total:
                next_stage, next_step = (stage, done) if done < total else ("cropper", 0)
                if stage == "cropper" and done == total:
                    next_stage, next_step = "cropper", total
                _save_checkpoint(
                    out, model, {k: o.state_dict() for k, o in optims.items()}, next_stage, next_step, rng, meta
                )
        net.eval()
    write_training_frames(out, sources)
    model.save(out)
    with atomic_open(out / "train.json", "w") as f:
        json.dump(meta, f, indent=1)
    return model


def write_training_frames(out: str | Path, sources: Sequence[Source]) -> Path:
    """Record the frames a model was trained on in ``out/training_frames.json``: per source its image paths
    (resolved, relative to their common folder), and for real (human-labelled) sources the sha256 of each image
    too, so that ``evaluate`` finds them again after the project moved."""
    import os

    records = []
    for s in sources:
        paths = [str(Path(p).resolve()) for p in s.data.images]
        root = os.path.commonpath([str(Path(p).parent) for p in paths]) if paths else ""
        record = {
            "real": bool(s.real),
            "weight": s.weight,
            "n_frames": len(paths),
            "root": root,
            "images": [os.path.relpath(p, root) for p in paths],
            "pairs": [list(p) for p in s.pairs],
        }
        if s.real:
            record["sha256"] = [file_sha256(p) for p in paths]
        records.append(record)
    path = Path(out) / TRAINING_FRAMES_FILE
    with atomic_open(path, "w") as f:
        json.dump({"version": 1, "sources": records}, f, indent=1)
    return path


def load_source_images(sources: Sequence[Source]) -> None:
    """Fail early when an image of the sources is missing."""
    for s in sources:
        for p in s.data.images:
            if not Path(p).is_file():
                raise SynthmouseError(f"{p}: labelled image not found")
