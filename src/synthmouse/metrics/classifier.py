"""Domain-classifier two-sample test: can a small CNN tell synthetic from real frames?

A classifier two-sample test (Lopez-Paz & Oquab 2017) needing no pretrained weights. Frames are reduced to
small grayscale images (centre-cropped to the real frames' aspect ratio, so the shape of the picture is no cue),
split into ``folds`` stratified folds, and a small CNN is trained from scratch on the other folds to predict
"real" for each fold in turn (cross-fitting). Every frame so gets an out-of-fold probability of being real:

* held-out **balanced accuracy** (the mean of the per-class accuracies at threshold 0.5): 50 % means the sets
  cannot be told apart, 100 % that every frame is recognised;
* a **permutation p-value**: the labels are permuted within each fold (the out-of-fold predictions kept), which
  under "same distribution" leaves the accuracy's distribution unchanged;
* a **realism score** for each synthetic frame: its out-of-fold probability of being real (0.5: looks real to
  the classifier; near 0: obviously synthetic);
* **class activation maps** (Zhou et al. 2016): the network ends in global average pooling and one linear
  unit, so the logit is the mean over positions of a per-position score; its negative shows where the frame
  looks synthetic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import MetricsError
from .frames import FrameSet, ProgressFn


@dataclass(frozen=True)
class ClassifierConfig:
    """Settings of the domain classifier (defaults keep it to well under a minute on two CPU cores for a few
    hundred frames)."""

    width: int = 128  # input width in pixels; the height follows the real frames' aspect ratio
    epochs: int = 12
    min_steps: int = 120  # small sets train for more epochs, so every fold gets this many gradient steps
    folds: int = 3
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    channels: tuple[int, int, int, int] = (16, 32, 64, 64)
    flips: bool = True  # random horizontal/vertical flips while training
    max_seconds: float = 180.0  # training stops after the epoch that passes this budget (all folds together)
    threads: int = 1  # torch CPU threads while training (restored afterwards); 1 is fastest on a busy machine
    permutations: int = 2000
    seed: int = 0


@dataclass
class ClassifierResult:
    """Outcome of :func:`domain_classifier_test` (arrays are per frame, in the order of the input sets).

    Attributes:
        accuracy: held-out balanced accuracy in ``[0, 1]``.
        auc: area under the ROC curve of the out-of-fold probabilities.
        p_value: permutation p-value of ``accuracy`` (one-sided: better than chance).
        p_real_real: ``(N,)`` out-of-fold probability of "real" for the real frames.
        p_real_synthetic: ``(M,)`` the same for the synthetic frames (their realism scores).
        input_size: ``(width, height)`` of the classifier's input.
        epochs_run: epochs trained in each fold.
        stopped_early: the time budget cut training short.
        seconds: wall time of training and evaluation.
    """

    accuracy: float
    auc: float
    p_value: float
    p_real_real: np.ndarray
    p_real_synthetic: np.ndarray
    input_size: tuple[int, int]
    epochs_run: list[int]
    stopped_early: bool
    seconds: float
    permutations: int
    config: ClassifierConfig
    _models: list = field(default_factory=list, repr=False)
    _fold_real: np.ndarray | None = field(default=None, repr=False)
    _fold_synthetic: np.ndarray | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        """Numbers (and per-frame scores) for the report's JSON file."""
        return {
            "accuracy": self.accuracy,
            "auc": self.auc,
            "p_value": self.p_value,
            "permutations": self.permutations,
            "n_real": int(len(self.p_real_real)),
            "n_synthetic": int(len(self.p_real_synthetic)),
            "input_size": list(self.input_size),
            "epochs_run": self.epochs_run,
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 2),
            "folds": self.config.folds,
            "seed": self.config.seed,
        }

    def activation_maps(self, images: np.ndarray, domain: str, index: np.ndarray) -> np.ndarray:
        """Where the held-out model sees "synthetic" in the given frames.

        Args:
            images: ``(F, H, W) uint8`` all frames of the set ``domain`` (``"real"`` or ``"synthetic"``).
            index: ``(n,) int`` which of them.

        Returns:
            ``(n, h, w) float32`` maps at the classifier's input size: the per-position contribution to the
            "synthetic" logit (positive: looks synthetic there), 0 where it looks real.
        """
        import torch

        folds = self._fold_real if domain == "real" else self._fold_synthetic
        x = prepare_inputs(images[np.asarray(index)], self.input_size)
        out = np.zeros((len(index), self.input_size[1], self.input_size[0]), np.float32)
        with torch.no_grad():
            for j, i in enumerate(np.asarray(index)):
                model = self._models[int(folds[i])]
                cam = model.cam(torch.from_numpy(x[j : j + 1]))[0].numpy()
                cam = np.maximum(-cam, 0.0)
                out[j] = cv2.resize(cam, self.input_size, interpolation=cv2.INTER_LINEAR)
        return out


# ---------------------------------------------------------------------------------------------- inputs
def input_size_for(real_size: tuple[int, int], width: int) -> tuple[int, int]:
    """Classifier input ``(width, height)`` keeping the real frames' aspect ratio (height a multiple of 8)."""
    w, h = real_size
    height = max(8, int(round(width * h / w / 8.0)) * 8)
    return int(width), height


def centre_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The largest centred part of ``image`` (``(H, W, ...)``) with the aspect ratio of ``size`` (width, height):
    what the classifier sees, so activation maps can be laid over it."""
    h, w = image.shape[:2]
    tw, th = size
    if w * th > h * tw:  # too wide: crop columns
        cw, ch = int(round(h * tw / th)), h
    else:
        cw, ch = w, int(round(w * th / tw))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return image[y0 : y0 + ch, x0 : x0 + cw]


def prepare_inputs(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop each frame to the aspect ratio of ``size`` and shrink it (area averaging).

    Args:
        images: ``(N, H, W) uint8``.
        size: ``(width, height)``.

    Returns:
        ``(N, 1, height, width) float32``, intensities mapped to about ``[-2, 2]`` (``(v/255 - 0.5) / 0.25``).
    """
    images = np.asarray(images)
    out = np.empty((len(images), 1, size[1], size[0]), np.float32)
    for i, image in enumerate(images):
        out[i, 0] = cv2.resize(centre_crop(image, size), size, interpolation=cv2.INTER_AREA)
    return (out / 255.0 - 0.5) / 0.25


# ---------------------------------------------------------------------------------------------- network
def build_network(channels: tuple[int, ...] = (16, 32, 64, 64)):
    """A small CNN: 3x3 conv + batch norm + ReLU blocks (the first with stride 2, then 2x2 max pooling before
    the second and third), global average pooling and one linear unit (the logit of "real"). The activation
    maps have 1/8 of the input's resolution."""
    import torch
    from torch import nn

    class DomainCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            cin = 1
            for i, cout in enumerate(channels):
                if i in (1, 2):
                    layers.append(nn.MaxPool2d(2))
                layers += [
                    nn.Conv2d(cin, cout, 3, stride=2 if i == 0 else 1, padding=1, bias=False),
                    nn.BatchNorm2d(cout),
                    nn.ReLU(),
                ]
                cin = cout
            self.features = nn.Sequential(*layers)
            self.head = nn.Linear(cin, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """``(B, 1, H, W)`` -> ``(B,)`` logits of "real"."""
            return self.head(self.features(x).mean(dim=(2, 3)))[:, 0]

        def cam(self, x: torch.Tensor) -> torch.Tensor:
            """``(B, h, w)`` per-position logit contributions (their mean plus the bias is the logit)."""
            maps = self.features(x)
            return torch.einsum("bchw,c->bhw", maps, self.head.weight[0])

    return DomainCNN()


# ---------------------------------------------------------------------------------------------- the test
def domain_classifier_test(
    real: FrameSet, synthetic: FrameSet, config: ClassifierConfig | None = None, progress: ProgressFn | None = None
) -> ClassifierResult:
    """Train and evaluate the real-vs-synthetic classifier with ``config.folds``-fold cross-fitting.

    Raises:
        MetricsError: fewer than ``2 * folds`` frames in a set.
    """
    import torch

    config = config or ClassifierConfig()
    for s in (real, synthetic):
        if len(s) < 2 * config.folds:
            raise MetricsError(
                f"{s.name} frames: the classifier test needs at least {2 * config.folds} "
                f"({config.folds} folds), got {len(s)}"
            )
    start = time.perf_counter()
    size = input_size_for(real.size, config.width)
    x = np.concatenate([prepare_inputs(real.images, size), prepare_inputs(synthetic.images, size)])
    y = np.concatenate([np.ones(len(real), np.float32), np.zeros(len(synthetic), np.float32)])
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 7]))
    fold = stratified_folds(y, config.folds, rng)
    prob = np.zeros(len(y))
    models, epochs_run, stopped = [], [], False
    n_train = int(np.sum(fold != 0))
    epochs = max(config.epochs, int(np.ceil(config.min_steps / max(1, np.ceil(n_train / config.batch_size)))))
    total = config.folds * epochs
    threads = torch.get_num_threads()
    try:
        if config.threads > 0:
            torch.set_num_threads(config.threads)
        with torch.random.fork_rng(devices=[]):
            for k in range(config.folds):
                torch.manual_seed(int(rng.integers(2**31)))

                def on_epoch(epoch: int, k: int = k) -> None:
                    if progress is not None:
                        progress("classifier training", k * epochs + epoch, total)

                model, done, cut = _train_fold(
                    x[fold != k], y[fold != k], config, epochs, rng, config.max_seconds / config.folds, on_epoch
                )
                prob[fold == k] = _predict(model, x[fold == k])
                models.append(model)
                epochs_run.append(done)
                stopped |= cut
    finally:
        torch.set_num_threads(threads)
    if progress is not None:
        progress("classifier training", total, total)
    accuracy = balanced_accuracy(y, prob)
    p_value = permutation_p_value(y, prob, fold, config.permutations, rng)
    n = len(real)
    return ClassifierResult(
        accuracy=accuracy,
        auc=roc_auc(y, prob),
        p_value=p_value,
        p_real_real=prob[:n],
        p_real_synthetic=prob[n:],
        input_size=size,
        epochs_run=epochs_run,
        stopped_early=stopped,
        seconds=time.perf_counter() - start,
        permutations=config.permutations,
        config=config,
        _models=models,
        _fold_real=fold[:n],
        _fold_synthetic=fold[n:],
    )


def stratified_folds(y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """``(N,) int`` fold of each sample: each class shuffled and dealt round-robin into ``folds`` folds."""
    out = np.empty(len(y), dtype=int)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        out[members] = np.arange(len(members)) % folds
    return out


def _train_fold(
    x: np.ndarray,
    y: np.ndarray,
    config: ClassifierConfig,
    epochs: int,
    rng: np.random.Generator,
    budget_s: float,
    on_epoch,
) -> tuple:
    """Train one network on ``(N, 1, H, W)`` inputs and 0/1 labels; returns (model, epochs, cut short)."""
    import torch

    model = build_network(config.channels)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    n_pos = float(y.sum())
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(y) - n_pos) / max(n_pos, 1.0)))
    start = time.perf_counter()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for epoch in range(epochs):
        model.train()
        for batch in np.array_split(rng.permutation(len(y)), max(1, int(np.ceil(len(y) / config.batch_size)))):
            if len(batch) < 2:  # batch norm needs two samples
                continue
            xb = xt[torch.from_numpy(batch)]
            if config.flips:
                xb = _random_flips(xb, rng)
            optimiser.zero_grad()
            loss = loss_fn(model(xb), yt[torch.from_numpy(batch)])
            loss.backward()
            optimiser.step()
        on_epoch(epoch + 1)
        if time.perf_counter() - start > budget_s and epoch + 1 < epochs:
            return model.eval(), epoch + 1, True
    return model.eval(), epochs, False


def _random_flips(xb, rng: np.random.Generator):
    import torch

    flip_h, flip_v = rng.random(len(xb)) < 0.5, rng.random(len(xb)) < 0.5
    xb = xb.clone()
    xb[torch.from_numpy(flip_h)] = xb[torch.from_numpy(flip_h)].flip(3)
    xb[torch.from_numpy(flip_v)] = xb[torch.from_numpy(flip_v)].flip(2)
    return xb


def _predict(model, x: np.ndarray, batch: int = 64) -> np.ndarray:
    import torch

    with torch.no_grad():
        logits = [model(torch.from_numpy(x[i : i + batch])) for i in range(0, len(x), batch)]
    return torch.sigmoid(torch.cat(logits)).double().numpy()


# ---------------------------------------------------------------------------------------------- statistics
def balanced_accuracy(y: np.ndarray, p_real: np.ndarray) -> float:
    """Mean of the accuracies on real (``y == 1``) and synthetic (``y == 0``) samples at threshold 0.5."""
    y = np.asarray(y) > 0.5
    guess = np.asarray(p_real) > 0.5
    return float(0.5 * (np.mean(guess[y]) + np.mean(~guess[~y])))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    from scipy.stats import rankdata

    y = np.asarray(y) > 0.5
    ranks = rankdata(score)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def permutation_p_value(
    y: np.ndarray, p_real: np.ndarray, fold: np.ndarray, permutations: int, rng: np.random.Generator
) -> float:
    """One-sided p-value of the balanced accuracy: labels permuted within each fold, predictions kept.

    Returns ``(1 + #{permuted >= observed}) / (1 + permutations)``.
    """
    y = np.asarray(y) > 0.5
    guess = np.asarray(p_real) > 0.5
    observed = balanced_accuracy(y, p_real)
    perm_y = np.empty((permutations, len(y)), dtype=bool)
    for k in np.unique(fold):
        members = np.flatnonzero(fold == k)
        perm_y[:, members] = rng.permuted(np.tile(y[members], (permutations, 1)), axis=1)
    n_pos, n_neg = y.sum(), (~y).sum()
    hits_pos = (perm_y & guess[None]).sum(axis=1) / n_pos
    hits_neg = (~perm_y & ~guess[None]).sum(axis=1) / n_neg
    null = 0.5 * (hits_pos + hits_neg)
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + permutations))
