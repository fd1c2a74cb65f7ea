"""The domain-classifier two-sample test: statistics, activation maps, and its two reference behaviours."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fakes.metrics import flat_renders
from synthmouse.metrics.classifier import (
    ClassifierConfig,
    balanced_accuracy,
    build_network,
    domain_classifier_test,
    permutation_p_value,
    prepare_inputs,
    roc_auc,
)
from synthmouse.metrics.errors import MetricsError
from synthmouse.metrics.frames import FrameSet, load_frame_set

FAST = ClassifierConfig(width=64, epochs=8, folds=3, permutations=1000)


@pytest.fixture(scope="module")
def real(openfield_dir):
    return load_frame_set(openfield_dir, "real")


def test_balanced_accuracy_and_auc_against_hand_counts():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(30), np.zeros(50)]
    score = np.clip(rng.normal(0.45 + 0.2 * y, 0.2), 0, 1).round(2)  # rounded: ties happen
    expected_acc = 0.5 * (np.mean(score[y == 1] > 0.5) + np.mean(score[y == 0] <= 0.5))
    assert balanced_accuracy(y, score) == pytest.approx(expected_acc)
    pos, neg = score[y == 1], score[y == 0]
    pairs = (pos[:, None] > neg[None]).astype(float) + 0.5 * (pos[:, None] == neg[None])
    assert roc_auc(y, score) == pytest.approx(pairs.mean())


def test_permutation_p_value_is_small_for_perfect_and_calibrated_for_random_predictions():
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(20), np.zeros(20)]
    fold = np.arange(40) % 4
    assert permutation_p_value(y, y.copy(), fold, 999, rng) == pytest.approx(1 / 1000)
    p_values = np.array([permutation_p_value(y, rng.random(40), fold, 199, rng) for _ in range(200)])
    assert 0.01 <= np.mean(p_values < 0.05) <= 0.10  # about 5 % under the null
    assert 0.4 <= np.mean(p_values) <= 0.6


def test_inputs_are_centre_cropped_to_the_target_aspect_then_shrunk():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (512, 640), dtype=np.uint8)
    out = prepare_inputs(image[None], (128, 96))
    expected = cv2.resize(image[16:496], (128, 96), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(out[0, 0], (expected / 255.0 - 0.5) / 0.25, atol=1e-6)


def test_activation_map_averages_to_the_logit():
    import torch

    torch.manual_seed(0)
    model = build_network().eval()
    x = torch.randn(3, 1, 48, 64)
    with torch.no_grad():
        cam = model.cam(x)
        assert cam.shape == (3, 6, 8)
        torch.testing.assert_close(cam.mean(dim=(1, 2)) + model.head.bias[0], model(x))


def test_two_random_halves_of_the_real_set_are_indistinguishable(real):
    order = np.random.default_rng(3).permutation(len(real))
    half = len(real) // 2
    a, b = real.subset(order[:half]), real.subset(order[half:])
    result = domain_classifier_test(a, FrameSet("other half", b.source, b.keys, b.images), FAST)
    assert 0.35 <= result.accuracy <= 0.65, result.accuracy
    assert result.p_value > 0.01
    assert len(result.p_real_real) == half and len(result.p_real_synthetic) == len(real) - half


def test_flat_renders_are_recognised_against_real_open_field_frames(real, tmp_path_factory):
    synthetic = load_frame_set(flat_renders(tmp_path_factory), "synthetic")
    result = domain_classifier_test(real, synthetic, FAST)
    assert result.accuracy > 0.9 and result.auc > 0.95
    assert result.p_value < 0.01
    assert np.median(result.p_real_synthetic) < 0.2  # realism scores of the renders are low
    maps = result.activation_maps(synthetic.images, "synthetic", np.arange(3))
    assert maps.shape == (3, *result.input_size[::-1]) and np.all(maps >= 0) and maps.max() > 0


def test_training_stops_at_the_time_budget_and_small_sets_are_refused(real):
    few = real.subset(np.arange(12))
    result = domain_classifier_test(
        few, real.subset(np.arange(60, 72)), ClassifierConfig(width=32, epochs=50, max_seconds=0.01, permutations=10)
    )
    assert result.stopped_early and max(result.epochs_run) < 50
    with pytest.raises(MetricsError, match="at least 6"):
        domain_classifier_test(real.subset(np.arange(4)), few, ClassifierConfig(folds=3))
