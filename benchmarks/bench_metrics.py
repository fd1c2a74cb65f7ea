"""Measured behaviour of the realism measures on the real open-field frames (prints numbers; not a test).

    .venv/bin/python benchmarks/bench_metrics.py [--synthetic DATASET] [--seeds 3]

* the domain classifier on two random halves of the real set (should be about 50 %), several seeds;
* the classifier on flat open-field renders against the real frames (should be far above 90 %);
* with ``--synthetic``: the mouse size found by background subtraction against the rendered masks (how well the
  method used for real frames measures the mouse), and the pose-coverage fraction for several radii.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real" / "openfield"
sys.path.insert(0, str(REPO / "tests"))


def real_halves(real, seeds: int, config) -> None:
    from synthmouse.metrics.classifier import domain_classifier_test
    from synthmouse.metrics.frames import FrameSet

    for seed in range(seeds):
        order = np.random.default_rng(100 + seed).permutation(len(real))
        a, b = real.subset(order[: len(order) // 2]), real.subset(order[len(order) // 2 :])
        start = time.perf_counter()
        r = domain_classifier_test(a, FrameSet("half", b.source, b.keys, b.images), config)
        print(
            f"real half vs real half, split {seed}: accuracy {100 * r.accuracy:5.1f} %  AUC {r.auc:.3f}  "
            f"p {r.p_value:.3f}  ({time.perf_counter() - start:.1f} s, epochs {r.epochs_run})"
        )


def flat_vs_real(real, config) -> None:
    from fakes.metrics import render_openfield
    from synthmouse.metrics.classifier import domain_classifier_test
    from synthmouse.metrics.frames import load_frame_set

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        root = render_openfield(Path(tmp) / "ds", 60, seed=2, size=(320, 240))
        render_s = time.perf_counter() - start
        synthetic = load_frame_set(root, "synthetic")
        start = time.perf_counter()
        r = domain_classifier_test(real, synthetic, config)
        print(
            f"flat renders (60, 320x240, {render_s:.1f} s to render) vs real: accuracy {100 * r.accuracy:5.1f} % "
            f" AUC {r.auc:.3f}  p {r.p_value:.4f}  median realism {np.median(r.p_real_synthetic):.3f}  "
            f"({time.perf_counter() - start:.1f} s)"
        )


def masks_and_coverage(real, synthetic_root: Path) -> None:
    from synthmouse.metrics.coverage import match_keypoints, pose_coverage, shared_keypoints
    from synthmouse.metrics.frames import load_frame_set, render_masks
    from synthmouse.metrics.imagestats import image_statistics

    synthetic = load_frame_set(synthetic_root, "synthetic", max_frames=400)
    by_subtraction = image_statistics(synthetic)["mouse_area"]
    from_masks = image_statistics(synthetic, render_masks(synthetic))["mouse_area"]
    ratio = by_subtraction / from_masks
    print(
        f"mouse size, background subtraction / rendered mask ({len(synthetic)} frames): median "
        f"{np.nanmedian(ratio):.3f}, 10-90 % {np.nanpercentile(ratio, 10):.3f}-{np.nanpercentile(ratio, 90):.3f}, "
        f"found in {100 * np.mean(np.isfinite(ratio)):.0f} % of frames"
    )
    pairs = match_keypoints(real.keypoint_names, synthetic.keypoint_names)
    r = shared_keypoints(real.keypoints, real.keypoint_names, [p[0] for p in pairs])
    s = shared_keypoints(synthetic.keypoints, synthetic.keypoint_names, [p[1] for p in pairs])
    for radius in (0.1, 0.15, 0.2, 0.3):
        cov = pose_coverage(r, s, pairs, radius)
        print(
            f"pose coverage radius {radius:4.2f}: {100 * cov.fraction_uncovered:5.1f} % of real poses uncovered "
            f"(median nearest distance {np.nanmedian(cov.distance):.3f}, real-to-real "
            f"{np.nanmedian(cov.real_nn_distance):.3f}, mean-pose offset {cov.mean_shapes()[2]:.3f})"
        )


def main() -> None:
    from synthmouse.metrics.classifier import ClassifierConfig
    from synthmouse.metrics.frames import load_frame_set

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", type=Path, help="a synthmouse dataset (top camera) for mask/coverage checks")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--width", type=int, default=128)
    args = parser.parse_args()
    real = load_frame_set(REAL, "real")
    config = ClassifierConfig(width=args.width)
    print(f"real: {len(real)} frames {real.size}; classifier input width {args.width}, default settings")
    real_halves(real, args.seeds, config)
    flat_vs_real(real, config)
    if args.synthetic is not None:
        masks_and_coverage(real, args.synthetic)


if __name__ == "__main__":
    main()
