"""The realism report: built end to end on small sets, written as self-contained HTML + JSON; CLI and errors."""

from __future__ import annotations

import json
import re
import sys

import pytest

from fakes.metrics import flat_renders, tiny_extractor
from synthmouse.errors import SynthmouseError
from synthmouse.metrics.classifier import ClassifierConfig
from synthmouse.metrics.errors import MetricsError
from synthmouse.metrics.fidelity import INCEPTION_FILE
from synthmouse.metrics.report import ReportOptions, build_report, write_report

FAST = ClassifierConfig(width=64, epochs=8, permutations=500)


def test_report_end_to_end_with_an_injected_feature_network(openfield_dir, tmp_path_factory, tmp_path):
    synthetic = flat_renders(tmp_path_factory)
    options = ReportOptions(
        max_frames=40,
        feature_extractor=tiny_extractor(),
        feature_network="tiny test CNN",
        classifier=FAST,
        kid_subsets=20,
        gallery=4,
    )
    steps: set[str] = set()
    report = build_report(synthetic, openfield_dir, options, progress=lambda step, done, total: steps.add(step))
    written = write_report(report, tmp_path / "out" / "report.html", tmp_path / "out" / "summary.png")

    page = written["html"].read_text(encoding="utf-8")
    assert written["html"].stat().st_size < 2_000_000
    sources = re.findall(r'src="([^"]{0,30})', page)
    assert sources and all(s.startswith("data:image/") for s in sources)  # every image is inline
    assert "http://" not in page and "https://" not in page.replace("https://github.com/toshas", "")
    for title in ("KID and FID", "Domain classifier", "Pose coverage", "Image statistics", "SSIM"):
        assert title in page

    numbers = json.loads(written["json"].read_text())
    assert numbers == report.numbers
    assert numbers["inputs"]["n_real"] == 40 and numbers["inputs"]["n_synthetic"] == 40
    assert numbers["classifier"]["accuracy"] > 0.9  # flat renders are easy to tell from real frames
    assert numbers["verdicts"]["classifier"]["level"] == "poor"
    # flat renders with no appearance profile and no randomization: the report knows, and says what is next
    assert numbers["provenance"] == {"known": True, "camera": "top", "appearance_profile": None, "randomized": []}
    assert "uses no appearance profile: fit one" in numbers["verdicts"]["classifier"]["verdict"]
    assert all(s["status"] in ("matches", "differs", "narrower", "unknown") for s in numbers["image_statistics"])
    kid = numbers["fidelity"]["kid"]
    assert kid["mean"] > numbers["fidelity"]["kid_real_halves"]["mean"] + 2 * kid["std"]
    coverage = numbers["coverage"]
    assert coverage["pairs"] == [[n, n] for n in ("snout", "leftear", "rightear", "tailbase")]
    assert len(coverage["uncovered_frames"]) == round(coverage["fraction_uncovered"] * coverage["n_real"])
    assert {s["name"] for s in numbers["image_statistics"]} >= {"brightness", "mouse_area", "mouse_orientation"}
    assert len(numbers["realism_scores"]) == 40
    assert numbers["ssim"] == {"skipped": "no --translated folder given"}
    assert written["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"read real frames", "classifier training", "features: real"} <= steps


def test_ssim_section_pairs_renders_with_translated_images(openfield_dir, tmp_path_factory, tmp_path):
    import cv2

    synthetic = flat_renders(tmp_path_factory)
    translated = tmp_path / "translated"
    translated.mkdir()
    for path in sorted((synthetic / "labeled-data" / "synth_top").glob("img*.png"))[:6]:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(translated / path.name), cv2.GaussianBlur(image, (0, 0), 2.0))
    options = ReportOptions(
        max_frames=20,
        fidelity=False,
        coverage=False,
        translated=translated,
        classifier=ClassifierConfig(width=32, epochs=2, permutations=50),
        gallery=2,
    )
    numbers = build_report(synthetic, openfield_dir, options).numbers
    assert numbers["ssim"]["n_pairs"] >= 2 and 0.3 < numbers["ssim"]["mean"] < 1.0
    assert numbers["fidelity"]["skipped"].startswith("KID/FID switched off")
    assert numbers["coverage"] == {"skipped": "--no-coverage"}


def test_bad_inputs_fail_fast_with_clear_messages(openfield_dir, tmp_path_factory, tmp_path):
    synthetic = flat_renders(tmp_path_factory)
    options = ReportOptions(fidelity=False)
    with pytest.raises(MetricsError, match="synthetic dataset .*nowhere: no such folder"):
        build_report(tmp_path / "nowhere", openfield_dir, options)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MetricsError, match="real data .*empty: no images"):
        build_report(synthetic, tmp_path / "empty", options)
    video = openfield_dir / "videos" / "m3v1mp4.mp4"
    with pytest.raises(MetricsError, match="no keypoint labels.*--real-labels.*--no-coverage"):
        build_report(synthetic, video, ReportOptions(fidelity=False, max_frames=10))
    with pytest.raises(SynthmouseError, match="muzzle is not a keypoint of the synthetic data"):
        build_report(synthetic, openfield_dir, ReportOptions(fidelity=False, mapping={"snout": "muzzle"}))
    with pytest.raises(MetricsError, match="no camera 'side'; cameras: top"):
        build_report(synthetic, openfield_dir, ReportOptions(fidelity=False, camera="side"))


def test_cli_writes_the_report_and_explains_missing_inception_weights(
    openfield_dir, tmp_path_factory, tmp_path, monkeypatch, capsys
):
    from synthmouse.cli import main
    from synthmouse.cli.report import register

    if "report" not in {c.name for c in main.app.registered_commands}:
        register(main.app)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    synthetic = flat_renders(tmp_path_factory)
    out = tmp_path / "r" / "report.html"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "synthmouse",
            "report",
            "--synthetic",
            str(synthetic),
            "--real",
            str(openfield_dir),
            "--out",
            str(out),
            "--max-frames",
            "24",
            "--no-download",
            "--classifier-width",
            "32",
            "--epochs",
            "2",
            "--map",
            "snout=snout",
        ],
    )
    try:
        main.run()  # success: returns or exits with status 0 (errors exit with status 2)
    except SystemExit as exc:
        assert exc.code in (0, None)
    numbers = json.loads(out.with_suffix(".json").read_text())
    assert INCEPTION_FILE in numbers["fidelity"]["skipped"]
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in numbers["fidelity"]["skipped"]
    captured = capsys.readouterr().out
    assert "classifier: [" in captured and "wrote " in captured

    monkeypatch.setattr(
        sys,
        "argv",
        [
            "synthmouse",
            "report",
            "--synthetic",
            str(synthetic),
            "--real",
            str(openfield_dir),
            "--out",
            str(out),
            "--map",
            "snout",
        ],
    )
    with pytest.raises(SystemExit) as info:
        main.run()
    assert info.value.code == 2
    assert "REAL=SYNTHETIC" in capsys.readouterr().err
