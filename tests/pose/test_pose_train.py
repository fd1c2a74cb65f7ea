"""Pose baseline: the network overfits a handful of frames, checkpoints resume exactly, CLI round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fakes.pose import NAMES, toy_frames
from synthmouse.pose.augment import Photometric
from synthmouse.pose.model import PoseModel, box_centres, read_gray
from synthmouse.pose.train import Source, TrainOptions, default_config, train_pose_model

NO_PHOTO = Photometric(brightness=0.0, contrast=(1, 1), gamma=(1, 1), p_blur=0.0, p_noise=0.0)


def _options(steps: int, locator_steps: int, **kw) -> TrainOptions:
    return TrainOptions(
        steps=steps,
        locator_steps=locator_steps,
        batch_size=4,
        rotation_deg=0.0,
        locator_rotation_deg=0.0,
        scale_range=(1.0, 1.0),
        crop_jitter=0.0,
        flip=False,
        photometric=NO_PHOTO,
        lr=3e-3,
        warmup=10,
        threads=1,
        device="cpu",
        **kw,
    )


def test_network_overfits_a_handful_of_frames_below_one_pixel(tmp_path):
    data = toy_frames(tmp_path / "frames")
    sources = [Source(data)]
    config = default_config(sources, crop_size=48, width=8, locator_width=8, locator_size=80, pretrained=False)
    model = train_pose_model(sources, tmp_path / "model", config, _options(400, 150, checkpoint_every=1000))
    images = [read_gray(p) for p in data.images]
    xy, conf = model.keypoints_in_crops(images, box_centres(data.xy))
    err = np.linalg.norm(xy - data.xy, axis=-1)
    assert err.max() < 1.0, err
    assert conf.min() > 0.3
    centres = model.locate(images)
    assert np.linalg.norm(centres - box_centres(data.xy), axis=-1).max() < 6.0  # coarse stage: a few px
    loaded = PoseModel.load(tmp_path / "model")  # the saved file gives the same answers
    xy2, _ = loaded.keypoints_in_crops(images, box_centres(data.xy))
    np.testing.assert_allclose(xy2, xy, atol=1e-4)


def test_interrupted_training_resumes_to_the_same_weights(tmp_path):
    data = toy_frames(tmp_path / "frames", n=3)
    sources = [Source(data)]
    config = default_config(sources, crop_size=32, width=4, locator_width=4, locator_size=64, pretrained=False)
    options = _options(8, 4, checkpoint_every=3)
    whole = train_pose_model(sources, tmp_path / "whole", config, options)

    seen = []

    def stop_at_cropper_step_5(stage, step, total, loss):
        seen.append((stage, step))
        if stage == "cropper" and step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_pose_model(sources, tmp_path / "cut", config, options, progress=stop_at_cropper_step_5)
    assert (tmp_path / "cut" / "checkpoint.pt").is_file() and not (tmp_path / "cut" / "model.pt").exists()
    resumed_steps = []
    resumed = train_pose_model(
        sources, tmp_path / "cut", config, options, progress=lambda s, i, t, loss: resumed_steps.append((s, i))
    )
    assert resumed_steps[0] == ("cropper", 4)  # last checkpoint after cropper step 3
    for a, b in zip(whole.cropper.state_dict().values(), resumed.cropper.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_cli_train_predict_evaluate_round_trip(tmp_path):
    import typer
    from typer.testing import CliRunner

    from synthmouse.cli import pose as pose_cli

    data = toy_frames(tmp_path / "proj" / "labeled-data" / "s1", n=3)
    cols = pd.MultiIndex.from_product([["me"], list(NAMES), ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    rows = [f"labeled-data/s1/{p.name}" for p in data.images]
    pd.DataFrame(data.xy.reshape(3, -1), index=rows, columns=cols).to_hdf(
        tmp_path / "proj" / "labeled-data" / "s1" / "CollectedData_me.h5", key="df_with_missing", mode="w"
    )
    app = typer.Typer()
    pose_cli.register(app)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "train",
            str(tmp_path / "proj"),
            "--out",
            str(tmp_path / "m"),
            "--steps",
            "4",
            "--batch-size",
            "2",
            "--crop-size",
            "32",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        ["predict", str(tmp_path / "m"), str(tmp_path / "proj"), "--out", str(tmp_path / "pred"), "--device", "cpu"],
    )
    assert res.exit_code == 0, res.output
    df = pd.read_hdf(tmp_path / "pred.h5")
    assert list(df.columns.names) == ["scorer", "bodyparts", "coords"]
    assert df.columns.get_level_values(1).unique().tolist() == list(NAMES)
    assert len(df) == 3 and df.xs("likelihood", axis=1, level=2).to_numpy().max() <= 1.0
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(tmp_path / "m"),
            "--real",
            str(tmp_path / "proj"),
            "--out",
            str(tmp_path / "ev"),
            "--map",
            "snout=snout",
            "--include-training-frames",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "rmse" in res.output and (tmp_path / "ev" / "metrics.json").is_file()
    assert "3 of them used to train the model" in res.output  # trained on these very frames: said so
