"""fit-appearance on a labelled project whose animal never leaves the frame (a head-fixed mouse).

The project is drawn with OpenCV: a textured background with a bright vertical bar (a joystick in front of the
mouse), a dark mouse that shifts by a few pixels only, and a paw that moves; DeepLabCut labels on the mouse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthmouse.appearance.composite import composite_image
from synthmouse.appearance.estimate import (
    fit_appearance,
    fit_appearance_labelled,
    is_labelled_source,
    label_masks,
    read_labelled_frames,
)
from synthmouse.appearance.profile import load_profile
from synthmouse.cli.main import app

H, W = 180, 240
N = 24
MOUSE_DN = 35.0
BODY = ((120, 95), (55, 32))  # centre (x, y) and semi-axes of the mouse's body


def background() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    bg = 120 + 30 * np.sin(xx / 6.0) * np.cos(yy / 8.0) + 0.15 * xx
    return bg.astype(np.float32)


def joystick(i: int) -> slice:
    """The joystick's columns in frame ``i``: bright, in front of the mouse, moving by a few pixels."""
    x = 58 + int(round(4 * np.sin(1.3 * i)))
    return slice(x, x + 10)


def mouse_mask(i: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    (cx, cy), (a, b) = BODY
    cx += 2.0 * np.sin(i)
    return ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2 < 1


def paw(i: int) -> tuple[float, float]:
    return 80.0 + 12.0 * np.sin(0.7 * i), 125.0 + 6.0 * np.cos(i)


def frame(i: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The image and its labels (nose, back, tail base, paw)."""
    yy, xx = np.mgrid[0:H, 0:W]
    image = background()
    body = mouse_mask(i)
    image[body] = MOUSE_DN + 8.0 * np.sin(xx[body] / 3.0)
    px, py = paw(i)
    image[(xx - px) ** 2 + (yy - py) ** 2 < 49] = MOUSE_DN
    image[:, joystick(i)] = 235.0
    image += rng.normal(0.0, 2.0, image.shape)
    (cx, cy), (a, _) = BODY
    cx += 2.0 * np.sin(i)
    labels = np.array([[cx - a + 4, cy], [cx, cy - 25], [cx + a - 4, cy], [px, py]])
    return np.clip(np.round(image), 0, 255).astype(np.uint8), labels


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A DeepLabCut project: labeled-data/s/img*.png (RGB PNGs of grayscale content) and CollectedData_me.csv."""
    import cv2

    root = tmp_path_factory.mktemp("project")
    folder = root / "labeled-data" / "s"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    names = ["nose", "back", "tailbase", "paw"]
    rows, keys = [], []
    for i in range(N):
        image, labels = frame(i, rng)
        cv2.imwrite(str(folder / f"img{i:03d}.png"), cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
        keys.append(f"labeled-data/s/img{i:03d}.png")
        rows.append(labels.reshape(-1))
    columns = pd.MultiIndex.from_tuples(
        [("me", n, c) for n in names for c in ("x", "y")], names=["scorer", "bodyparts", "coords"]
    )
    pd.DataFrame(np.array(rows), index=keys, columns=columns).to_csv(folder / "CollectedData_me.csv")
    return root


@pytest.fixture(scope="module")
def source(project):
    return read_labelled_frames(project)


@pytest.fixture(scope="module")
def profile(source):
    return fit_appearance_labelled(source, name="project")


def test_a_project_is_read_as_grayscale_frames_with_their_labels(project, source):
    assert is_labelled_source(project) and not is_labelled_source(project / "labeled-data" / "s" / "img000.png")
    assert source.frames.shape == (N, H, W, 1)
    assert source.names == ("nose", "back", "tailbase", "paw")
    assert np.allclose(source.xy[5, 3], paw(5))


def test_label_masks_cover_the_mouse_and_grow_by_the_radius(source):
    masks = label_masks(source.xy, H, W, 12.0)
    for i in (0, 7):
        body = mouse_mask(i)
        assert masks[i][body].mean() > 0.9
    small = label_masks(source.xy, H, W, 4.0)
    assert small.sum() < masks.sum()


def test_the_plate_recovers_the_background_outside_the_inpainted_area(profile):
    fit = profile.stats.plate_fit
    assert fit is not None and 0.05 < fit.inpainted_share < 0.5
    plate = profile.plate[..., 0].astype(float)
    truth = background()
    always = np.stack([mouse_mask(i) for i in range(N)]).all(axis=0)
    seen = ~always
    seen[:, 50:75] = False  # the joystick's path
    assert np.median(np.abs(plate - truth)[seen]) < 3.0
    assert np.mean(plate[always] > 90) > 0.9  # inpainted from the background, not the dark mouse
    assert profile.stats.channels == 1 and profile.stats.illumination == "flat"


def test_the_animal_statistics_are_the_mouse(profile):
    animal = profile.stats.animal
    assert MOUSE_DN - 10 < animal.mean < MOUSE_DN + 10
    assert animal.quantiles[-3] < 80


def rendered_mouse() -> tuple[np.ndarray, np.ndarray]:
    """A dark-furred render: grey rig, the mouse's luma 6..30 in a smooth vertical shading gradient."""
    yy, _ = np.mgrid[0:H, 0:W]
    body = mouse_mask(0)
    rgb = np.full((H, W, 3), 90, np.uint8)
    shade = np.clip(6 + 24 * (yy - 63) / 64.0, 6, 30)
    rgb[body] = shade[body, None].astype(np.uint8)
    return rgb, body


def stripe_strength(image: np.ndarray, mask: np.ndarray) -> float:
    """Largest non-DC peak of the mouse's row-mean spectrum (DN) after removing the smooth shading (a line
    fit): bands across the mouse show up as one."""
    rows = np.flatnonzero(mask.any(axis=1))
    means = np.array([image[r, mask[r]].mean() for r in rows])
    means = means - np.polyval(np.polyfit(rows, means, 1), rows)
    spectrum = np.abs(np.fft.rfft(means - means.mean())) / len(means)
    return float(spectrum[2:].max())


def band_strength(image: np.ndarray, mask: np.ndarray, trim: int = 5) -> float:
    """Largest deviation (DN) of one of the mouse's column means from their median (the outermost ``trim``
    columns, blurred with the background, left out): a bright vertical band shows up as one."""
    cols = np.flatnonzero(mask.any(axis=0))[trim:-trim]
    means = np.array([image[mask[:, c], c].mean() for c in cols])
    return float(np.abs(means - np.median(means)).max())


def test_the_video_fit_of_a_head_fixed_mouse_glows_and_stripes(source):
    """The reported artefact, reproduced: from a video the animal is what moves, here the bright joystick; its
    intensities (bimodal with the paw's) are what the rendered fur's ranks map onto, so the mouse glows and
    the animal layer is multiplied by the plate's low-pass as if it were the floor's light, while this plate
    holds the dark mouse (a bright rim) and the joystick (a bright vertical band)."""
    old = fit_appearance(source.frames)
    assert old.stats.animal.mean > 150  # the joystick taken for the animal
    rgb, body = rendered_mouse()
    out = composite_image(rgb, body, old, np.random.default_rng(1))[..., 0].astype(float)
    assert out[body].mean() > MOUSE_DN + 40  # glow
    assert band_strength(out, body) > 30.0  # a stripe


def test_the_labelled_profile_composites_without_glow_or_stripes(profile, tmp_path):
    from synthmouse.appearance.profile import save_profile

    loaded = load_profile(save_profile(profile, tmp_path / "p"))
    rgb, body = rendered_mouse()
    out = composite_image(rgb, body, loaded, np.random.default_rng(1))[..., 0].astype(float)
    assert MOUSE_DN - 12 < out[body].mean() < MOUSE_DN + 12
    assert stripe_strength(out, body) < 3.0
    assert band_strength(out, body) < 15.0


def test_fit_appearance_command_takes_a_project(project, tmp_path):
    result = CliRunner().invoke(app, ["fit-appearance", str(project), "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "inpainted" in result.output
    assert load_profile(tmp_path / "p").stats.plate_fit is not None
