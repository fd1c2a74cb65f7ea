"""The appearance profile and the randomization draws through the scene file, the GL renderer and the dataset
generator: composites over the plate, light / fur / body-shape draws against hand-built reference scenes,
values recorded in frames.csv, byte-reproducible datasets."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pandas as pd
import pytest

from fakes.appearance import ANIMAL_DN, NOISE_SIGMA, write_checker_profile
from fakes.dataset import image_path, tree_digest
from fakes.scene import StillPoses
from synthmouse.body.groups import PARTS
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.scene_source import SceneFrameSource, scene_hash
from synthmouse.errors import SceneError
from synthmouse.render import FrameState
from synthmouse.scene.build import build_scene, reshape_scene
from synthmouse.scene.draw import FrameDraw, LightDraw, frame_lights, frame_scene
from synthmouse.scene.materials import Light, Material, parse_colour
from synthmouse.scene.spec import parse_scene_spec

pytestmark = pytest.mark.gl

W, H = 96, 72


def top_scene(appearance=None, randomization=None, grayscale=True, size=(W, H), fur="black", lights=None):
    data = {
        "seed": 3,
        "body": {"fur": fur},
        "rig": {"type": "openfield", "size": [0.3, 0.2], "table": False},
        "cameras": [
            {
                "name": "top",
                "width": size[0],
                "height": size[1],
                "fx": 1.15 * size[0],
                "grayscale": grayscale,
                "look_at": {"eye": [0.0, 0.0, 0.45], "target": [0.0, 0.0, 0.0]},
            }
        ],
    }
    if appearance is not None:
        data["appearance"] = str(appearance)
    if randomization is not None:
        data["randomization"] = randomization
    if lights is not None:
        data["lights"] = lights
    return data


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory):
    """A grayscale profile whose plate (a gradient with a checker) the renderer could never draw itself."""
    folder = tmp_path_factory.mktemp("profile")
    return write_checker_profile(folder, W, H)


def source_of(data, renderer, seed=4):
    scene = build_scene(parse_scene_spec(data))
    return SceneFrameSource(scene=scene, seed=seed, motion=StillPoses(scene, seed), renderer=renderer, name="of")


def grey(path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


# --- compositing over the plate in the dataset --------------------------------------------------------------
def test_dataset_frames_show_the_plate_outside_the_mouse(tmp_path, profile_file, renderer):
    root = tmp_path / "ds"
    assert generate(
        source_of(top_scene(profile_file), renderer), root, GenerateOptions(n_frames=3, formats=("dlc",))
    ).complete
    plate = grey(profile_file.parent / "plate.png").astype(np.float64)
    source = source_of(top_scene(profile_file), renderer)  # a fresh source: frames depend on (scene, seed, i)
    for i in range(3):
        view = source.render(i).views[0]
        on_disk = grey(image_path(root, "top", i))
        assert np.array_equal(on_disk, view.rgb[..., 0])  # what was written is the composite
        assert 30 < view.mask.sum() < 0.2 * W * H
        outside = ~cv2.dilate(view.mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        diff = on_disk[outside] - plate[outside]
        assert abs(diff.mean()) < 0.3 and abs(diff.std() - NOISE_SIGMA) < 0.3  # the plate, plus sensor noise
        inside = on_disk[view.mask].astype(np.float64)
        lo, hi = ANIMAL_DN
        assert lo - 3 * NOISE_SIGMA < np.median(inside) < hi + 3 * NOISE_SIGMA  # the real animal's levels
        assert np.abs(inside.mean() - plate[view.mask].mean()) > 80  # the mouse is really there


def test_appearance_and_randomization_datasets_are_byte_reproducible(tmp_path, profile_file, renderer):
    ranges = {
        "light.azimuth_deg": [0, 360],
        "light.intensity_scale": [0.5, 1.5],
        "body.fur_albedo_scale": [0.7, 1.3],
        "body.length_scale": [0.9, 1.1],
        "camera.position_m": [-0.003, 0.003],
        "image.noise_scale": [0.5, 2.0],
        "image.jpeg_quality": [60, 95],
        "background": {"weights": {"plate": 1, "frame": 1, "texture": 1}},
        "distractors.count": [0, 4],
    }
    options = GenerateOptions(n_frames=4, formats=("dlc",))
    a = tree_digest(generate(source_of(top_scene(profile_file, ranges), renderer), tmp_path / "a", options).root)
    b = tree_digest(generate(source_of(top_scene(profile_file, ranges), renderer), tmp_path / "b", options).root)
    same = {k for k in a if k not in ("config.yaml", "manifest.json")}
    assert {k: a[k] for k in same} == {k: b[k] for k in same}
    other = GenerateOptions(n_frames=4, formats=("dlc",))
    c = tree_digest(generate(source_of(top_scene(profile_file, ranges), renderer, 5), tmp_path / "c", other).root)
    image = "labeled-data/synth_top/img00000.png"
    assert c[image] != a[image]
    frames = pd.read_csv(tmp_path / "a" / "frames.csv", index_col="frame")
    for key in (
        "light.azimuth_deg",
        "light.intensity_scale",
        "body.fur_albedo_scale",
        "body.length_scale",
        "camera.dx_m",
        "image.noise_scale",
        "image.jpeg_quality",
        "background.source",
    ):
        assert key in frames.columns, key
    assert frames["image.jpeg_quality"].between(60, 95).all()
    assert frames["light.azimuth_deg"].nunique() == 4
    # one body per motion segment (StillPoses: frames 0-2 are segment 0, frame 3 segment 1)
    lengths = frames["body.length_scale"].tolist()
    assert lengths[0] == lengths[1] == lengths[2] != lengths[3]


@pytest.mark.parametrize("with_profile", [False, True])
def test_shards_made_by_a_fresh_renderer_equal_one_full_run(tmp_path, profile_file, renderer, with_profile):
    """Frames depend on (scene, seed, index) only, not on what the renderer drew before: a shard whose first
    frame has a reshaped body, a moved light and another fur colour, made by a new GL context, gives the same
    files as one full run (the raw render shows the shadows on the floor, which depend on the projections)."""
    from synthmouse.render import GLRenderer

    ranges = {
        "light.azimuth_deg": [0, 360],
        "light.elevation_deg": [40, 80],
        "body.length_scale": [0.9, 1.1],
        "body.girth_scale": [0.92, 1.08],
        "body.fur_albedo_scale": [0.7, 1.3],
    }
    if with_profile:
        ranges["image.noise_scale"] = [0.5, 2]
    data = top_scene(profile_file if with_profile else None, ranges, grayscale=with_profile, size=(128, 96))
    if not with_profile:  # a small floor: the body reaches past the rig, so its size enters the projections
        data["rig"] = {"type": "none", "floor_size": [0.12, 0.12]}
    full = tree_digest(
        generate(source_of(data, renderer), tmp_path / "full", GenerateOptions(n_frames=5, formats=("dlc",))).root
    )
    root = tmp_path / "shards"
    with GLRenderer() as fresh:
        generate(source_of(data, fresh), root, GenerateOptions(n_frames=5, formats=("dlc",), frames=(4, 5)))
    generate(source_of(data, renderer), root, GenerateOptions(n_frames=5, formats=("dlc",), frames=(0, 4)))
    merged = tree_digest(generate(source_of(data, renderer), root, GenerateOptions(n_frames=5, formats=("dlc",))).root)
    images = [k for k in full if k.endswith(".png")]
    assert len([k for k in images if k.startswith("labeled-data/")]) == 5
    assert len(images) == 5 * 4  # RGB plus the depth, mask and part-id images of the default ground truth
    assert {k: merged[k] for k in images} == {k: full[k] for k in images}
    assert merged["frames.csv"] == full["frames.csv"]


def test_changed_profile_changes_the_scene_hash(tmp_path, profile_file):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(profile_file.parent, copy)
    before = scene_hash(parse_scene_spec(top_scene(copy / "profile.yaml")))
    cv2.imwrite(str(copy / "plate.png"), np.zeros((H, W), np.uint8))
    assert scene_hash(parse_scene_spec(top_scene(copy / "profile.yaml"))) != before


def test_unreadable_profile_is_a_scene_error_naming_the_field(tmp_path, renderer):
    (tmp_path / "profile.yaml").write_text("version: 1\nwidth: 10\n")
    with pytest.raises(SceneError, match=r"appearance: .*profile.yaml: invalid appearance profile"):
        source_of(top_scene(tmp_path / "profile.yaml"), renderer)


# --- light draws --------------------------------------------------------------------------------------------
def _rest_view(renderer, scene, params=None):
    """The rest pose rendered in ``scene`` as a frame with the draw recorded as ``params`` sees it."""
    framed = frame_scene(scene, FrameDraw.from_params(params or {}))
    return renderer.render(framed, FrameState(0, framed.rest_pose())).views[0]


def _unit(az_deg, el_deg):
    a, e = np.radians(az_deg), np.radians(el_deg)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


LIGHTS = [
    {"type": "ambient", "colour": "white", "intensity": 0.3},
    {"type": "directional", "colour": "#fff6ea", "intensity": 0.9, "direction": [-0.3, 0.2, -0.9], "shadows": True},
    {"type": "point", "colour": "#eaf0ff", "intensity": 0.2, "position": [0.1, 0.1, 0.5]},
]


def test_light_draws_render_like_a_scene_with_those_lights(renderer):
    size = (128, 96)
    scene = build_scene(parse_scene_spec(top_scene(grayscale=False, size=size, fur="grey", lights=LIGHTS)))
    plain = _rest_view(renderer, scene)
    params = {"light.azimuth_deg": 200.0, "light.elevation_deg": 35.0, "light.intensity_scale": 0.7}
    drawn = _rest_view(renderer, scene, params)
    # the reference: the same scene written with the key light there and every intensity times 0.7
    lights = json.loads(json.dumps(LIGHTS))
    lights[1]["direction"] = list(-_unit(200.0, 35.0))
    for light in lights:
        light["intensity"] *= 0.7
    reference = _rest_view(
        renderer, build_scene(parse_scene_spec(top_scene(grayscale=False, size=size, fur="grey", lights=lights)))
    )
    diff = np.abs(drawn.rgb.astype(int) - reference.rgb.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.01
    changed = np.abs(drawn.rgb.astype(int) - plain.rgb.astype(int)).max(axis=-1) > 3
    assert changed[drawn.mask].mean() > 0.5  # the mouse is shaded differently
    assert changed[~drawn.mask].mean() > 0.2  # the floor is darker and the shadows moved
    # colour: a bluer light makes the floor bluer than redder
    tinted = _rest_view(renderer, scene, {"light.colour_r": 0.8, "light.colour_g": 1.0, "light.colour_b": 1.15})
    floor = ~plain.mask & np.isfinite(plain.depth)
    ratio = tinted.rgb[floor].astype(float).mean(0) / plain.rgb[floor].astype(float).mean(0)
    assert ratio[0] < 0.93 and abs(ratio[1] - 1) < 0.02 and ratio[2] > 1.03
    # the renderer renders the scene's own lights again for a frame without draws
    assert np.array_equal(_rest_view(renderer, scene).rgb, plain.rgb)


def test_frame_lights_moves_the_key_light_on_its_sphere():
    key = Light(
        "spot", parse_colour("white"), 0.8, position=np.array([0.3, 0.0, 0.4]), target=np.zeros(3), shadows=True
    )
    lights = [Light("ambient", parse_colour("white"), 0.2), key, Light("point", parse_colour("white"), 0.5)]
    assert frame_lights(lights, LightDraw()) is lights
    out = frame_lights(lights, LightDraw(azimuth_deg=90.0, intensity_scale=2.0))
    np.testing.assert_allclose(out[1].position, 0.5 * _unit(90.0, np.degrees(np.arctan2(0.4, 0.3))), atol=1e-12)
    assert out[1].reference_distance == pytest.approx(key.reference_distance)
    np.testing.assert_array_equal(out[2].position, lights[2].position)
    assert [light.intensity for light in out] == pytest.approx([0.4, 1.6, 1.0])


def test_recorded_light_values_reproduce_the_frame(tmp_path, renderer):
    ranges = {"light.azimuth_deg": [0, 360], "light.elevation_deg": [30, 80], "light.temperature_k": [3000, 8000]}
    data = top_scene(grayscale=False, randomization=ranges)
    root = tmp_path / "ds"
    assert generate(source_of(data, renderer), root, GenerateOptions(n_frames=3, formats=("dlc",))).complete
    frames = pd.read_csv(root / "frames.csv", index_col="frame")
    assert frames["light.elevation_deg"].between(30, 80).all() and frames["light.azimuth_deg"].nunique() == 3
    assert {"light.colour_r", "light.colour_g", "light.colour_b"} <= set(frames.columns)
    assert not any(c.startswith(("background.", "distractors.")) for c in frames.columns)  # no profile
    scene = build_scene(parse_scene_spec(data))
    poses = StillPoses(scene, 4)
    for i in range(3):
        framed = frame_scene(scene, FrameDraw.from_params(frames.loc[i].to_dict()))
        result = renderer.render(framed, FrameState(i, scene.place(poses.sample(i)[0])))
        on_disk = cv2.cvtColor(cv2.imread(str(image_path(root, "top", i))), cv2.COLOR_BGR2RGB)
        diff = np.abs(on_disk.astype(int) - result.views[0].rgb.astype(int))
        assert diff.max() <= 1  # frames.csv rounds the floats; the image is the one these values make


# --- body draws ---------------------------------------------------------------------------------------------
def test_fur_albedo_scale_multiplies_the_fur_colour(renderer):
    scene = build_scene(parse_scene_spec(top_scene(grayscale=False, size=(128, 96), fur="grey")))
    # a matte coat, so that the image of the fur is proportional to its colour (gamma-2 shading)
    matte = Material("matte", scene.body_material.colour, roughness=1.0, specular=0.0)
    scene = dataclasses.replace(scene, body_material=matte)
    base = _rest_view(renderer, scene)
    bright = _rest_view(renderer, scene, {"body.fur_albedo_scale": 1.3})
    skin = np.isin(base.parts, [PARTS.index(p) + 1 for p in ("tail", "ear_l", "ear_r")])
    fur = base.mask & ~skin & (base.rgb.min(axis=-1) > 25)
    assert fur.sum() > 50
    ratio = bright.rgb[fur].astype(float) / base.rgb[fur].astype(float)
    assert np.median(ratio) == pytest.approx(1.3, abs=0.04)
    np.testing.assert_array_equal(bright.rgb[~base.mask], base.rgb[~base.mask])  # only the mouse changes


def test_reshaped_body_renders_like_a_fresh_upload_and_keeps_the_rig(renderer):
    from synthmouse.render import GLRenderer

    scene = build_scene(parse_scene_spec(top_scene(grayscale=False, size=(128, 96))))
    longer = reshape_scene(scene, 1.1, 1.05)
    assert longer.rig is scene.rig and longer.lights is scene.lights and longer.body is not scene.body
    assert longer.body.length == pytest.approx(1.1 * scene.body.length, rel=1e-3)
    _rest_view(renderer, scene)
    swapped = _rest_view(renderer, longer)  # same renderer: only the mouse is uploaded again
    with GLRenderer() as fresh:
        reference = _rest_view(fresh, longer)
    np.testing.assert_array_equal(swapped.rgb, reference.rgb)
    np.testing.assert_array_equal(swapped.mask, reference.mask)
    assert swapped.mask.sum() > 1.1 * _rest_view(renderer, scene).mask.sum()


def test_body_length_draw_scales_the_labelled_body(tmp_path, renderer):
    data = top_scene(randomization={"body.length_scale": [0.85, 1.15]})
    root = tmp_path / "ds"
    assert generate(source_of(data, renderer), root, GenerateOptions(n_frames=4, formats=("dlc",))).complete
    frames = pd.read_csv(root / "frames.csv", index_col="frame")
    kp3d = pd.read_csv(root / "keypoints3d.csv", index_col="frame")
    base = build_scene(parse_scene_spec(data)).body.length
    for i in range(4):
        nose = kp3d.loc[i, [f"nose_{a}" for a in "xyz"]].to_numpy(float)
        tail = kp3d.loc[i, [f"tail_root_{a}" for a in "xyz"]].to_numpy(float)
        assert np.linalg.norm(nose - tail) == pytest.approx(base * frames.loc[i, "body.length_scale"], rel=2e-3)


def test_scene_errors_for_draws_the_scene_cannot_honour():
    with pytest.raises(SceneError, match="randomization.light.*no.*directional or spot|has none"):
        build_scene(
            parse_scene_spec(top_scene(lights=[{"type": "ambient"}], randomization={"light.azimuth_deg": [0, 90]}))
        )
    assert dataclasses.is_dataclass(build_scene(parse_scene_spec(top_scene(lights=[{"type": "ambient"}]))))
