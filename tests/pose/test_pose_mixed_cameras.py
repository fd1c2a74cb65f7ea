"""Training and prediction on frames of several sizes and aspect ratios (multi-camera datasets)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fakes.pose import toy_frames
from synthmouse.io.labels import LabelledFrames, concatenate
from synthmouse.pose.model import locator_geometry
from synthmouse.pose.train import BatchMaker, Source, TrainOptions, default_config, train_pose_model


def _resized(data: LabelledFrames, folder, size: tuple[int, int]) -> LabelledFrames:
    """``data``'s frames stretched to ``size`` (w, h), keypoints with them."""
    folder.mkdir(parents=True)
    images, kps = [], []
    for path, kp in zip(data.images, data.xy, strict=True):
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        h, w = image.shape
        out = folder / path.name
        cv2.imwrite(str(out), cv2.resize(image, size, interpolation=cv2.INTER_LINEAR))
        images.append(out)
        kps.append((kp + 0.5) * (size[0] / w, size[1] / h) - 0.5)
    return LabelledFrames(names=data.names, xy=np.array(kps), keys=data.keys, images=tuple(images))


def test_locator_batches_letterbox_frames_of_other_aspect_ratios(tmp_path):
    wide = toy_frames(tmp_path / "a", n=3)  # 80 x 64
    tall = _resized(toy_frames(tmp_path / "b", n=3, seed=1), tmp_path / "tall", (48, 96))
    data = concatenate([wide, tall])
    config = default_config([Source(data)], crop_size=32, width=4, locator_width=4, locator_size=64, pretrained=False)
    options = TrainOptions(batch_size=6, threads=1, device="cpu")
    maker = BatchMaker([Source(data)], config, options)
    sizes = {locator_geometry(w, h, 64)[1] for w, h in ((80, 64), (48, 96))}
    assert maker.locator_canvas == (max(s[0] for s in sizes), max(s[1] for s in sizes)) == (64, 64)
    images, targets, weights = maker.batch(np.random.default_rng(0), "locator", "cpu")
    assert tuple(images.shape) == (6, 1, 64, 64) and tuple(targets.shape) == (6, 1, 32, 32)
    assert float(weights.min()) == 1.0
    # the target peak lies where the keypoints' box centre lands in the letterboxed frame
    assert float(targets.amax()) > 0.9


def test_training_and_prediction_on_two_camera_sizes(tmp_path):
    wide = toy_frames(tmp_path / "a", n=3)
    tall = _resized(toy_frames(tmp_path / "b", n=3, seed=1), tmp_path / "tall", (48, 96))
    sources = [Source(wide, 0.5), Source(tall, 0.5)]
    config = default_config(sources, crop_size=32, width=4, locator_width=4, locator_size=64, pretrained=False)
    model = train_pose_model(
        sources, tmp_path / "m", config, TrainOptions(steps=2, locator_steps=2, batch_size=4, threads=1, device="cpu")
    )
    images = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in (*wide.images, *tall.images)]
    xy, conf = model.predict(images)  # one batch of mixed sizes
    assert xy.shape == (6, 4, 2) and np.isfinite(xy).all() and conf.shape == (6, 4)
    np.testing.assert_allclose(model.locate(images[3:]), model.locate(images)[3:])


@pytest.mark.slow
@pytest.mark.gl
def test_cli_train_on_the_openfield_template_with_two_camera_shapes(tmp_path):
    """`synthmouse scene new --rig openfield` gives a 640 x 512 top and a 640 x 480 oblique camera."""
    from typer.testing import CliRunner

    from synthmouse.cli.main import app

    runner = CliRunner()
    scene = tmp_path / "of.yaml"
    assert runner.invoke(app, ["scene", "new", "--rig", "openfield", "--out", str(scene)]).exit_code == 0
    res = runner.invoke(
        app, ["generate", str(scene), "--frames", "2", "--out", str(tmp_path / "ds"), "--format", "dlc"]
    )
    if res.exit_code != 0 and "OpenGL" in res.output + str(res.exception):
        pytest.skip(f"no OpenGL context: {res.output.strip()[-200:]}")
    assert res.exit_code == 0, res.output
    sizes = {cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).shape for p in (tmp_path / "ds").glob("labeled-data/*/*.png")}
    assert sizes == {(512, 640), (480, 640)}
    res = runner.invoke(
        app,
        [
            "train",
            str(tmp_path / "ds"),
            "--out",
            str(tmp_path / "m"),
            "--split",
            "all",
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--crop-size",
            "32",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m" / "model.pt").is_file()
