"""KID and FID on network features (computed by torchmetrics), and SSIM of paired images (scikit-image).

The feature extractor is any ``torch.nn.Module`` mapping ``(B, 3, H, W) uint8`` images to ``(B, D)`` features
(the contract of torchmetrics' custom extractors), so tests inject a tiny network and users the standard
InceptionV3 (Heusel et al. 2017 for FID; Bińkowski et al. 2018 for KID; Bolaños et al. 2021 used both for
synthetic animal images). Features are extracted once and fed to torchmetrics' ``FrechetInceptionDistance`` and
``KernelInceptionDistance`` through an identity extractor, so both scores come from the library's code.

InceptionV3 weights are torch-fidelity's file ``weights-inception-2015-12-05-6726825d.pth``: a file the user
names, else the torch hub cache (``$TORCH_HOME/hub/checkpoints``), else a download into that cache; where none
works :class:`WeightsUnavailableError` says which file to put where.
"""

from __future__ import annotations

import hashlib
import urllib.request
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..fileio import atomic_path
from .errors import MetricsError
from .frames import FrameSet, ProgressFn

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_FILE
INCEPTION_SHA256_PREFIX = "6726825d"  # torch hub convention: the name carries the start of the file's sha256


class WeightsUnavailableError(MetricsError):
    """The InceptionV3 weights are neither given, cached, nor downloadable."""


# ---------------------------------------------------------------------------------------------- weights
def inception_cache_dir() -> Path:
    """Where torch (and so torch-fidelity/torchmetrics) caches downloaded weights: ``<torch hub>/checkpoints``."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def resolve_inception_weights(path: str | Path | None = None, download: bool = True, timeout_s: float = 60.0) -> Path:
    """The InceptionV3 weights file: ``path``, else the cached file, else a fresh download into the cache.

    Raises:
        WeightsUnavailableError: ``path`` does not exist, or nothing is cached and the download is off or fails;
            the message names the file, where to get it and the folder to put it in.
    """
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise WeightsUnavailableError(
                f"InceptionV3 weights {path}: no such file (expected torch-fidelity's "
                f"{INCEPTION_FILE}, from {INCEPTION_URL})"
            )
        return path
    cached = inception_cache_dir() / INCEPTION_FILE
    if cached.is_file():
        return cached
    reason = "downloading is switched off"
    if download:
        try:
            return _download(INCEPTION_URL, cached, timeout_s)
        except (OSError, ValueError) as exc:
            reason = f"the download from {INCEPTION_URL} failed ({exc})"
    raise WeightsUnavailableError(
        f"InceptionV3 weights for KID/FID are not available: {reason}. Download {INCEPTION_FILE} from "
        f"{INCEPTION_URL} and put it in {cached.parent} (torch's hub cache; set TORCH_HOME to move it), "
        f"or name the file with --inception-weights PATH"
    )


def _download(url: str, target: Path, timeout_s: float) -> Path:
    """Download ``url`` to ``target`` atomically, checking the sha256 prefix carried in the file name."""
    digest = hashlib.sha256()
    with atomic_path(target) as tmp, urllib.request.urlopen(url, timeout=timeout_s) as response, open(tmp, "wb") as out:
        while block := response.read(1 << 20):
            digest.update(block)
            out.write(block)
        if not digest.hexdigest().startswith(INCEPTION_SHA256_PREFIX):
            raise ValueError(f"sha256 {digest.hexdigest()[:12]}... does not start with {INCEPTION_SHA256_PREFIX}")
    return target


def inception_extractor(weights: str | Path | None = None, download: bool = True):
    """torchmetrics' InceptionV3 (torch-fidelity's TF-compatible port) giving ``(B, 2048)`` pool features.

    Raises:
        WeightsUnavailableError: see :func:`resolve_inception_weights`.
        MetricsError: torch-fidelity is not installed.
    """
    path = resolve_inception_weights(weights, download)
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MetricsError(
            f"KID/FID need torchmetrics and torch-fidelity ({exc}); pip install torchmetrics torch-fidelity"
        ) from None
    try:
        return NoTrainInceptionV3(
            name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(path)
        )
    except ModuleNotFoundError as exc:
        raise MetricsError(
            f"KID/FID with InceptionV3 need torch-fidelity ({exc}); pip install torch-fidelity"
        ) from None
    except (RuntimeError, OSError, KeyError, ValueError) as exc:
        raise WeightsUnavailableError(f"InceptionV3 weights {path}: not a valid {INCEPTION_FILE} ({exc})") from None


# ---------------------------------------------------------------------------------------------- features
def extract_features(
    images: np.ndarray, extractor, batch_size: int = 16, progress: ProgressFn | None = None, step: str = "features"
) -> np.ndarray:
    """Features of grayscale images (replicated to three channels, as the extractor expects RGB).

    Args:
        images: ``(N, H, W) uint8`` (or ``(N, H, W, 3) uint8``).
        extractor: ``torch.nn.Module``, ``(B, 3, H, W) uint8 -> (B, D)``.

    Returns:
        ``(N, D) float64``.
    """
    import torch

    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise MetricsError(f"images for feature extraction must be uint8, got {images.dtype}")
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
            batch = batch.unsqueeze(1).expand(-1, 3, -1, -1) if batch.ndim == 3 else batch.permute(0, 3, 1, 2)
            feats = extractor(batch.contiguous())
            out.append(feats.reshape(len(batch), -1).double().cpu().numpy())
            if progress is not None:
                progress(step, min(start + batch_size, len(images)), len(images))
    return np.concatenate(out, axis=0)


def _precomputed(num_features: int):
    """Identity "extractor" so torchmetrics' metrics accept features computed beforehand."""
    import torch

    class Precomputed(torch.nn.Module):
        def __init__(self, d: int):
            super().__init__()
            self.num_features = d

        def forward(self, x):
            return x

    return Precomputed(num_features)


# ---------------------------------------------------------------------------------------------- scores
def fid_from_features(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to ``(N, D)`` and ``(M, D)`` features (torchmetrics FID)."""
    import torch
    from torchmetrics.image.fid import FrechetInceptionDistance

    _check_features(real, synthetic, 2)
    metric = FrechetInceptionDistance(feature=_precomputed(real.shape[1]))
    metric.update(torch.from_numpy(np.asarray(real, np.float64)), real=True)
    metric.update(torch.from_numpy(np.asarray(synthetic, np.float64)), real=False)
    return max(float(metric.compute()), 0.0)


@dataclass(frozen=True)
class KidResult:
    """KID: the mean of the unbiased squared MMD (cubic polynomial kernel) over random subsets.

    ``std`` is the standard deviation over subsets (torchmetrics' and torch-fidelity's figure): the standard
    error of one ``subset_size``-sample estimate.
    """

    mean: float
    std: float
    subsets: int
    subset_size: int


def kid_from_features(
    real: np.ndarray, synthetic: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> KidResult:
    """KID between ``(N, D)`` and ``(M, D)`` features (torchmetrics KID).

    ``subset_size`` is capped at half the smaller set, so that subsets differ and their spread is a standard
    error. The subsets are drawn from a seeded generator (torch's global one is left as it was).
    """
    import torch
    from torchmetrics.image.kid import KernelInceptionDistance

    _check_features(real, synthetic, 2)
    size = int(max(2, min(subset_size, min(len(real), len(synthetic)) // 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "will save all extracted features in buffer"
        metric = KernelInceptionDistance(feature=_precomputed(real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(torch.from_numpy(np.asarray(real, np.float64)), real=True)
    metric.update(torch.from_numpy(np.asarray(synthetic, np.float64)), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return KidResult(mean=float(mean), std=float(std), subsets=int(subsets), subset_size=size)


def _check_features(real: np.ndarray, synthetic: np.ndarray, minimum: int) -> None:
    for name, f in (("real", real), ("synthetic", synthetic)):
        if f.ndim != 2 or len(f) < minimum:
            raise MetricsError(
                f"{name} features: need at least {minimum} frames as an (N, D) array, got shape {f.shape}"
            )
    if real.shape[1] != synthetic.shape[1]:
        raise MetricsError(f"feature sizes differ: real {real.shape[1]}, synthetic {synthetic.shape[1]}")


@dataclass(frozen=True)
class FidelityResult:
    """KID/FID of synthetic against real frames, and of one random half of the real frames against the other
    (the floor that sampling alone gives: synthetic data cannot be expected to score below it)."""

    feature_network: str
    n_real: int
    n_synthetic: int
    fid: float
    kid: KidResult
    fid_real_halves: float
    kid_real_halves: KidResult

    def to_json(self) -> dict:
        return asdict(self)


def image_fidelity(
    real: FrameSet,
    synthetic: FrameSet,
    extractor,
    feature_network: str = "custom",
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> FidelityResult:
    """KID and FID of the synthetic against the real frames, with the real-vs-real baseline.

    Args:
        extractor: ``torch.nn.Module`` ``(B, 3, H, W) uint8 -> (B, D)`` (e.g. :func:`inception_extractor`).
    """
    f_real = extract_features(real.images, extractor, progress=progress, step="features: real")
    f_syn = extract_features(synthetic.images, extractor, progress=progress, step="features: synthetic")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    order = rng.permutation(len(f_real))
    half_a, half_b = f_real[order[: len(order) // 2]], f_real[order[len(order) // 2 :]]
    return FidelityResult(
        feature_network=feature_network,
        n_real=len(f_real),
        n_synthetic=len(f_syn),
        fid=fid_from_features(f_real, f_syn),
        kid=kid_from_features(f_real, f_syn, subsets, subset_size, seed),
        fid_real_halves=fid_from_features(half_a, half_b),
        kid_real_halves=kid_from_features(half_a, half_b, subsets, subset_size, seed),
    )


# ---------------------------------------------------------------------------------------------- SSIM
def ssim_pairs(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """SSIM of each pair of grayscale images (Wang et al. 2004: Gaussian window sigma 1.5, 11 pixels, the mean
    over the image without the 5-pixel border the window cannot cover), by scikit-image.

    Args:
        a, b: ``(N, H, W)`` images (e.g. renders and their translated versions), same shape, ``H, W >= 11``.

    Returns:
        ``(N,) float64`` in ``[-1, 1]`` (1: identical).
    """
    from skimage.metrics import structural_similarity

    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 3 or min(a.shape[1:]) < 11:
        raise MetricsError(
            f"SSIM pairs need two (N, H, W) stacks of one shape with H, W >= 11, got {a.shape} and {b.shape}"
        )
    return np.array(
        [
            structural_similarity(
                x.astype(np.float64),
                y.astype(np.float64),
                data_range=data_range,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
            for x, y in zip(a, b, strict=True)
        ],
        dtype=np.float64,
    )


def paired_images(synthetic: FrameSet, translated: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Synthetic frames and their translated versions, matched by image path (or file name) under
    ``translated``; translated images are resized to the render's size when they differ.

    Returns:
        ``(N, H, W) uint8`` renders, ``(N, H, W) uint8`` translations, ``(N,)`` keys.

    Raises:
        MetricsError: the folder is missing or no file matches.
    """
    import cv2

    root = Path(translated)
    if not root.is_dir():
        raise MetricsError(f"translated images {root}: no such folder")
    by_name = {p.name: p for p in root.rglob("*") if p.is_file()}
    renders, outs, keys = [], [], []
    for key, image in zip(synthetic.keys, synthetic.images, strict=True):
        candidate = root / key
        path = candidate if candidate.is_file() else by_name.get(Path(key).name)
        if path is None:
            continue
        other = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if other is None:
            raise MetricsError(f"translated image {path}: not a readable image")
        if other.shape != image.shape:
            other = cv2.resize(other, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_AREA)
        renders.append(image)
        outs.append(other)
        keys.append(key)
    if not keys:
        raise MetricsError(
            f"translated images {root}: no file matches a synthetic frame (e.g. "
            f"{synthetic.keys[0]} or {Path(synthetic.keys[0]).name})"
        )
    return np.stack(renders), np.stack(outs), keys
