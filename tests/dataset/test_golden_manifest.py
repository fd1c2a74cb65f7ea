"""Golden bytes of a whole rendered dataset: a fixed scene and seed give the same manifest.json, byte for byte.

The manifest holds the sha256 of every image, ground-truth image and label file, so one digest covers the whole
pipeline (motion mix, per-frame draws of light, camera, fur, body shape and image, rendering, compositing over
an appearance profile, labels, splits). Refactorings must leave it unchanged; an output-changing change bumps
``DATASET_FORMAT_VERSION`` (CHANGELOG.md) and records the new digest under the new version.

Rendered bytes belong to the GL driver, so the digest is pinned for Mesa's llvmpipe (the CI renderer) only.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from fakes.appearance import write_checker_profile
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.scene_source import source_from_spec
from synthmouse.dataset.state import DATASET_FORMAT_VERSION
from synthmouse.scene.spec import parse_scene_spec

pytestmark = pytest.mark.gl

# DATASET_FORMAT_VERSION -> sha256 of the golden dataset's manifest.json, location-free (llvmpipe)
GOLDEN_MANIFEST = {
    2: "fa32df762d6e64a5a6fb9a0af94f2ed975a4f0a8229ca494110f7083bcef792f",
}
W, H = 96, 72
RANGES = {
    "light": {"azimuth_deg": [0, 360], "elevation_deg": [45, 85], "intensity_scale": [0.7, 1.3]},
    "camera": {"position_m": [-0.003, 0.003], "rotation_deg": [-1, 1], "focal_scale": [0.98, 1.02]},
    "body": {"fur_albedo_scale": [0.8, 1.2], "length_scale": [0.9, 1.1], "girth_scale": [0.95, 1.05]},
    "image": {"noise_scale": [0.5, 2.0], "blur_sigma_px": [0, 1], "gamma": [0.9, 1.1], "jpeg_quality": [70, 95]},
    "background": {"weights": {"plate": 1, "frame": 1, "texture": 1}},
    "distractors": {"count": [0, 3]},
}


def golden_profile(folder):
    return write_checker_profile(folder, W, H)


def golden_scene(profile) -> dict:
    """An open field seen from above (with the profile) and from the side, every randomization on."""
    return {
        "seed": 7,
        "body": {"fur": "black"},
        "rig": {"type": "openfield", "size": [0.3, 0.2], "table": False},
        "cameras": [
            {
                "name": "top",
                "width": W,
                "height": H,
                "fx": 1.15 * W,
                "grayscale": True,
                "look_at": {"eye": [0.0, 0.0, 0.45], "target": [0.0, 0.0, 0.0]},
            },
            {
                "name": "side",
                "width": W,
                "height": H,
                "fx": 1.0 * W,
                "look_at": {"eye": [0.35, -0.2, 0.2], "target": [0.0, 0.0, 0.02]},
            },
        ],
        "appearance": {"top": str(profile)},
        "randomization": RANGES,
    }


def make_golden(root, profile_dir):
    spec = parse_scene_spec(golden_scene(golden_profile(profile_dir)))
    source = source_from_spec(spec, "golden", 7)
    try:
        generate(source, root, GenerateOptions(n_frames=6, formats=("coco",)))
    finally:
        source.close()
    return root / "manifest.json"


def location_free_digest(manifest_path, tmp) -> str:
    """sha256 of the manifest with the temporary folder's path taken out: the profile's absolute path is in the
    scene's provenance (manifest, COCO info) and so in the scene hash, so the digests of files holding either
    are recomputed with placeholders."""
    root = manifest_path.parent
    data = json.loads(manifest_path.read_text())
    placeholders = {str(tmp).encode(): b"<tmp>", data["scene"].pop("sha256").encode(): b"<scene hash>"}
    for rel in data["files"]:
        content = (root / rel).read_bytes()
        if any(key in content for key in placeholders):
            for key, value in placeholders.items():
                content = content.replace(key, value)
            data["files"][rel] = hashlib.sha256(content).hexdigest()
    text = json.dumps(data, sort_keys=True).replace(str(tmp), "<tmp>")
    return hashlib.sha256(text.encode()).hexdigest()


def test_golden_dataset_manifest_is_unchanged(tmp_path):
    from synthmouse.render.gl import GLRenderer, GLUnavailableError

    try:
        gl = GLRenderer()
    except GLUnavailableError as exc:
        pytest.skip(f"no OpenGL context: {exc}")
    renderer = gl.info["GL_RENDERER"]
    gl.close()
    if "llvmpipe" not in renderer.lower():
        pytest.skip(f"golden bytes are pinned for Mesa llvmpipe, this renderer is {renderer}")
    manifest = make_golden(tmp_path / "ds", tmp_path / "profile")
    digest = location_free_digest(manifest, tmp_path)
    data = json.loads(manifest.read_text())
    assert data["format_version"] == DATASET_FORMAT_VERSION
    assert data["frames"] == 6 and len(data["files"]) > 6 * 2 * 4
    assert GOLDEN_MANIFEST.get(DATASET_FORMAT_VERSION) == digest, (
        f"the golden dataset changed (manifest sha256 {digest}) under dataset format version "
        f"{DATASET_FORMAT_VERSION}: if the change is meant, bump DATASET_FORMAT_VERSION, add a CHANGELOG.md line "
        "and record the digest under the new version"
    )
