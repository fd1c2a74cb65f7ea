"""Is the simulation good enough? Realism and coverage of a synthetic dataset against real data.

* :mod:`.frames`: ``load_frame_set`` (synthmouse dataset, labelled DeepLabCut folder, image folder, video),
  ``FrameSet`` (labels and video frames through :mod:`synthmouse.io`);
* :mod:`.fidelity`: KID/FID (torchmetrics, on InceptionV3 or any injected feature network) with a real-vs-real
  floor, SSIM of paired images, InceptionV3 weight resolution;
* :mod:`.classifier`: domain-classifier two-sample test (no pretrained weights): held-out accuracy,
  permutation p-value, per-frame realism scores, class activation maps;
* :mod:`.coverage`: pose coverage in Procrustes-normalized pose space, keypoint name matching (the shared
  :mod:`synthmouse.io.mapping`);
* :mod:`.imagestats`: brightness, contrast, mouse size/position/orientation, compared with a tolerance from the
  real frames' own spread (matches / differs / narrower);
* :mod:`.provenance`: how the synthetic dataset was made (appearance profile, randomization), for the advice;
* :mod:`.report`: ``build_report`` / ``write_report``: self-contained HTML + JSON (``synthmouse report``);
  ``classifier_verdict`` / ``statistics_verdict``.

Heavy dependencies (torch, torchmetrics, matplotlib) load only when a function needs them.
"""

from __future__ import annotations

from .classifier import ClassifierConfig, ClassifierResult, domain_classifier_test
from .coverage import PoseCoverage, match_keypoints, pose_coverage
from .errors import MetricsError
from .fidelity import (
    FidelityResult,
    KidResult,
    WeightsUnavailableError,
    extract_features,
    fid_from_features,
    image_fidelity,
    inception_extractor,
    kid_from_features,
    ssim_pairs,
)
from .frames import FrameSet, load_frame_set
from .imagestats import compare_statistics, image_statistics
from .provenance import SyntheticProvenance, synthetic_provenance
from .report import ReportOptions, build_report, classifier_verdict, statistics_verdict, write_report

__all__ = [
    "ClassifierConfig",
    "ClassifierResult",
    "FidelityResult",
    "FrameSet",
    "KidResult",
    "MetricsError",
    "PoseCoverage",
    "ReportOptions",
    "SyntheticProvenance",
    "WeightsUnavailableError",
    "build_report",
    "classifier_verdict",
    "compare_statistics",
    "domain_classifier_test",
    "extract_features",
    "fid_from_features",
    "image_fidelity",
    "image_statistics",
    "inception_extractor",
    "kid_from_features",
    "load_frame_set",
    "match_keypoints",
    "pose_coverage",
    "ssim_pairs",
    "statistics_verdict",
    "synthetic_provenance",
    "write_report",
]
