"""KID/FID through torchmetrics with an injected tiny network, SSIM against scikit-image, InceptionV3 weights."""

from __future__ import annotations

import numpy as np
import pytest

from fakes.metrics import textured_images, tiny_extractor
from synthmouse.metrics.fidelity import (
    INCEPTION_FILE,
    WeightsUnavailableError,
    extract_features,
    fid_from_features,
    inception_extractor,
    kid_from_features,
    resolve_inception_weights,
    ssim_pairs,
)

SHIFTS = (0, 4, 8, 16, 32, 64)


@pytest.fixture(scope="module")
def base():
    images = textured_images(80, seed=0)
    net = tiny_extractor()
    return images, net, extract_features(images, net)


def shifted(images: np.ndarray, shift: int) -> np.ndarray:
    return np.clip(images.astype(np.int32) + shift, 0, 255).astype(np.uint8)


def test_kid_and_fid_of_a_set_against_itself_are_about_zero(base):
    images, net, feats = base
    kid_self = kid_from_features(feats, feats, subsets=50)
    kid_small_shift = kid_from_features(feats, extract_features(shifted(images, 8), net), subsets=50)
    assert abs(kid_self.mean) <= 3 * kid_self.std + 1e-9
    assert abs(kid_self.mean) < 0.05 * kid_small_shift.mean
    fid_self = fid_from_features(feats, feats)
    assert fid_self < 1e-3 * fid_from_features(feats, extract_features(shifted(images, 8), net))
    # two independent draws of the same distribution: also about zero
    other = extract_features(textured_images(80, seed=1), net)
    kid_other = kid_from_features(feats, other, subsets=50)
    assert abs(kid_other.mean) < 0.1 * kid_small_shift.mean
    assert kid_other.std > 0 and kid_other.subset_size == 40


def test_kid_and_fid_grow_monotonically_with_a_brightness_shift(base):
    images, net, feats = base
    kids, fids = [], []
    for shift in SHIFTS:
        moved = extract_features(shifted(images, shift), net)
        kids.append(kid_from_features(feats, moved, subsets=30).mean)
        fids.append(fid_from_features(feats, moved))
    assert np.all(np.diff(kids) > 0), kids
    assert np.all(np.diff(fids) > 0), fids
    assert kids[-1] > 100 * abs(kids[0])


def test_fid_matches_the_closed_form_for_gaussian_features():
    # Independent reference: FID between N(m1, S1) and N(m2, S2) = |m1 - m2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2),
    # computed here with scipy's sqrtm from the sample moments.
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, (400, 6)) @ rng.normal(0, 1, (6, 6))
    b = rng.normal(0.5, 1.3, (300, 6))
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * np.real(sqrtm(s1 @ s2)))
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-6)


def test_kid_is_seeded_and_leaves_torch_global_random_state_alone(base):
    import torch

    _, _, feats = base
    other = feats[::-1] + 0.01
    before = torch.random.get_rng_state().clone()
    first = kid_from_features(feats, other, subsets=10, seed=5)
    assert torch.equal(before, torch.random.get_rng_state())
    assert kid_from_features(feats, other, subsets=10, seed=5) == first


def test_ssim_matches_torchmetrics_full_map_inside_the_window_border():
    # Independent implementation: torchmetrics' SSIM map, averaged where the 11-pixel window fits (Wang et al.)
    import torch
    from torchmetrics.functional.image import structural_similarity_index_measure

    a = textured_images(3, size=48, seed=4)
    b = np.clip(a.astype(int) + np.random.default_rng(5).integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    ours = ssim_pairs(a, b)
    _, maps = structural_similarity_index_measure(
        torch.from_numpy(a.astype(np.float64))[:, None],
        torch.from_numpy(b.astype(np.float64))[:, None],
        data_range=255.0,
        return_full_image=True,
    )
    reference = maps[:, 0, 5:-5, 5:-5].mean(dim=(1, 2)).numpy()
    np.testing.assert_allclose(ours, reference, atol=1e-9)
    assert np.all((ours > 0.3) & (ours < 0.95))
    np.testing.assert_allclose(ssim_pairs(a, a), 1.0, atol=1e-9)


def test_missing_inception_weights_name_the_file_and_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsUnavailableError) as info:
        resolve_inception_weights(download=False)
    message = str(info.value)
    assert INCEPTION_FILE in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message
    assert "--inception-weights" in message
    with pytest.raises(WeightsUnavailableError, match="no such file"):
        resolve_inception_weights(tmp_path / "nothing.pth")
    cached = tmp_path / "torch" / "hub" / "checkpoints" / INCEPTION_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert resolve_inception_weights(download=False) == cached


def test_inception_runs_from_a_local_weights_file(tmp_path, monkeypatch):
    """The InceptionV3 path end to end with a weights file named by the user (random weights: the real file
    cannot be downloaded here)."""
    import torch
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    with monkeypatch.context() as patch:  # build the network once without any weights, to get its state dict
        patch.setattr(fe, "load_state_dict_from_url", lambda *a, **k: None)
        patch.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        state = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).state_dict()
    state = {
        k: (
            torch.randn(v.shape, generator=torch.Generator().manual_seed(0)) * 0.05
            if v.is_floating_point() and "running_var" not in k
            else v
        )
        for k, v in state.items()
    }
    path = tmp_path / "inception.pth"
    torch.save(state, path)
    net = inception_extractor(path, download=False)
    assert torch.equal(net.Conv2d_1a_3x3.conv.weight, state["Conv2d_1a_3x3.conv.weight"])
    feats = extract_features(textured_images(2, size=40), net)
    assert feats.shape == (2, 2048) and np.all(np.isfinite(feats))
