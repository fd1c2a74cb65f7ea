"""The rig library, imported meshes, body placement and the built Scene."""

from __future__ import annotations

import hashlib
import textwrap

import numpy as np
import pytest
import trimesh

from synthmouse.body import Pose
from synthmouse.body.groups import PARTS
from synthmouse.body.tongue import TIP_LANDMARK
from synthmouse.motion import motion_rig
from synthmouse.motion.base import Support
from synthmouse.motion.behaviours import ReachSpec
from synthmouse.scene.build import build_scene
from synthmouse.scene.materials import FUR_PRESETS
from synthmouse.scene.motion_binding import scene_motion
from synthmouse.scene.rigs import Anchors, build_rig
from synthmouse.scene.spec import parse_scene_spec

CAMERA = """
cameras:
  - name: top
    width: 320
    height: 240
    fx: 400
    look_at: {eye: [0, 0, 0.6], target: [0, 0, 0]}
"""


def spec_of(text: str, tmp_path=None):
    return parse_scene_spec(textwrap.dedent(CAMERA + text), base_dir=tmp_path)


def parts_by_name(rig) -> dict:
    return {m.name: m for m in build_rig(rig)}


def test_openfield_dimensions():
    spec = spec_of("rig:\n  type: openfield\n  size: [0.4, 0.3]\n  wall_height: 0.25\n  wall_thickness: 0.01\n")
    parts = parts_by_name(spec.rig)
    assert parts["floor"].bounds[1, 2] == pytest.approx(0.0, abs=1e-7)
    assert parts["wall_east"].bounds[0, 0] == pytest.approx(0.2, abs=1e-7)  # inner faces at +-size / 2
    assert parts["wall_west"].bounds[1, 0] == pytest.approx(-0.2, abs=1e-7)
    assert parts["wall_north"].bounds[0, 1] == pytest.approx(0.15, abs=1e-7)
    assert parts["wall_north"].bounds[1, 2] == pytest.approx(0.25, abs=1e-7)
    for mesh in parts.values():
        assert mesh.faces.max() < len(mesh.vertices)
        assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-5)
        assert mesh.uvs.shape == (len(mesh.vertices), 2)


def test_wheel_running_surface_is_at_the_radius():
    spec = spec_of("rig:\n  type: wheel\n  radius: 0.1\n  width: 0.06\n  ridges: 40\n")
    parts = parts_by_name(spec.rig)
    for name in ("wheel", "wheel_ridges"):
        v = parts[name].vertices.astype(np.float64)
        r = np.hypot(v[:, 0], v[:, 2] + 0.1)  # distance from the axis (0, y, -R)
        assert r.max() == pytest.approx(0.1, abs=2e-5 if name == "wheel_ridges" else 2e-3)  # box corners
        assert np.abs(v[:, 1]).max() == pytest.approx(0.03, abs=1e-6)
    assert parts["wheel_ridges"].vertices[:, 2].max() == pytest.approx(0.0, abs=1e-6)
    assert len(parts["wheel_ridges"].faces) == 40 * 12
    assert {"axle", "wheel_supports", "screen_front", "table"} <= set(parts)


@pytest.mark.parametrize(
    "screens, names",
    [(0, set()), (2, {"screen_left", "screen_right"}), (3, {"screen_front", "screen_left", "screen_right"})],
)
def test_wheel_screens(screens, names):
    parts = parts_by_name(spec_of(f"rig:\n  type: wheel\n  screens: {screens}\n").rig)
    assert {n for n in parts if n.startswith("screen")} == names


def test_treadmill_and_platform_tops_at_zero():
    tread = parts_by_name(spec_of("rig:\n  type: treadmill\n  length: 0.3\n  width: 0.08\n").rig)
    assert tread["belt"].bounds[1, 2] == pytest.approx(0.0, abs=1e-7)
    assert tread["belt"].bounds[:, 0] == pytest.approx([-0.15, 0.15])
    assert tread["frame"].bounds[1, 2] < 0.0  # the frame stays below the belt: it never hides the paws
    plat = parts_by_name(spec_of("rig:\n  type: platform\n  shape: box\n  size: [0.1, 0.2]\n  height: 0.5\n").rig)
    assert plat["platform"].bounds[1] == pytest.approx([0.05, 0.1, 0.0])
    assert plat["room_floor"].bounds[1, 2] == pytest.approx(-0.5)


def test_imported_mesh_scale_rotation_position(tmp_path):
    box = trimesh.creation.box(extents=(10.0, 20.0, 30.0))  # millimetres, centred on the origin
    box.export(tmp_path / "holder.stl")
    spec = spec_of(
        """
rig:
  type: none
  floor_material: null
  meshes:
    - file: holder.stl
      scale: 0.001
      rotation_deg: [0, 0, 90]
      position: [0.1, 0.0, 0.05]
      material: {colour: "#ff0000", roughness: 0.3}
      occluder: false
""",
        tmp_path,
    )
    scene_parts = build_rig(spec.rig)
    assert [m.name for m in scene_parts] == ["holder"]
    mesh = scene_parts[0]
    assert mesh.bounds == pytest.approx(np.array([[0.09, -0.005, 0.035], [0.11, 0.005, 0.065]]), abs=1e-6)
    assert mesh.material == "rig.meshes[0].material" and not mesh.occluder


def test_scene_on_the_wheel_touches_without_penetrating(sam_body):
    spec = spec_of("body:\n  fur: white\nrig:\n  type: wheel\n  radius: 0.09\n")
    scene = build_scene(spec, body=sam_body)
    verts = scene.body.skin(scene.rest_pose())[0].astype(np.float64)
    dist = np.hypot(verts[:, 0], verts[:, 2] + 0.09)  # from the wheel axis
    over = np.abs(verts[:, 0]) < 0.08
    paws = np.isin(
        sam_body.vertex_parts(),
        [PARTS.index(p) for p in ("forepaw_l", "forepaw_r", "hindpaw_l", "hindpaw_r")],
    )
    assert dist[over & paws].min() == pytest.approx(0.09, abs=1e-6)  # a paw touches the running surface
    assert scene.floor_region is None


@pytest.mark.parametrize("model", [pytest.param("sam", marks=pytest.mark.slow), "parametric"])
def test_head_bar_and_spout_sit_where_head_fixed_motion_holds_the_head(model, sam_body, parametric_body):
    """The wheel's head bar rests on the skull of the head-fixed mouse the dataset renders (scene_motion), and
    the lick spout's end is where its tongue reaches when it licks."""
    body = sam_body if model == "sam" else parametric_body
    spec = spec_of("rig:\n  type: wheel\n  radius: 0.09\n  lick_spout: true\n")
    scene = build_scene(spec, body=body)
    provider = scene_motion(scene, seed=0, fps=30.0)
    head = body.vertex_parts() == PARTS.index("head")
    bar = next(m for m in scene.rig if m.name == "headbar")
    for frame in (0, 40):
        pose, _ = provider.sample(frame)
        verts = body.skin(scene.place(pose))[0]
        skull = verts[head]
        under = skull[
            (skull[:, 0] > bar.bounds[0, 0])
            & (skull[:, 0] < bar.bounds[1, 0])
            & (np.abs(skull[:, 1] - bar.vertices[:, 1].mean()) < 0.004)
        ]
        # over the skull, nothing through it (but the skin the ears and neck move, up to 2 mm)
        assert len(under) > 0 and skull[:, 2].max() < bar.bounds[0, 2] + 0.002
        assert bar.bounds[0, 2] - under[:, 2].max() < 0.004  # and resting on it
    # a head-fixed lick on the scene's stage brings the tongue tip to the spout's end
    rig = motion_rig(body)
    assert scene.stage.spout is not None and scene.stage.support == Support("wheel", 0.0, 0.09)
    clip = ReachSpec(effector="tongue").generate(rig, 60, 60.0, np.random.default_rng(0), scene.stage)
    tip = body.keypoints(Pose(clip.root, clip.pose().rotations), rig.landmark_set((TIP_LANDMARK,)))[:, 0]
    spout = next(m for m in scene.rig if m.name == "lick_spout").vertices.astype(np.float64)
    gap = np.linalg.norm(tip[:, None] - spout[None], axis=-1).min()
    assert gap < 0.002


def test_openfield_scene_placement_colours_and_materials(sam_body, tmp_path):
    (tmp_path / "floor.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # an image by its signature (scene check reads it)
    spec = spec_of(
        """
body:
  fur: agouti
  position: [0.05, -0.02, 0.0]
  heading_deg: 90
rig:
  type: openfield
  size: [0.4, 0.4]
  floor_material: {texture: floor.png, tile_size: 0.4}
mirrors:
  - name: north
    corners: [[-0.2, 0.2, 0.0], [0.2, 0.2, 0.0], [0.2, 0.25, 0.1], [-0.2, 0.25, 0.1]]
""",
        tmp_path,
    )
    scene = build_scene(spec, body=sam_body)
    assert scene.body_root[:3, 3] == pytest.approx([0.05, -0.02, 0.0])
    assert scene.body_root[:3, 0] == pytest.approx([0.0, 1.0, 0.0])  # nose now towards +y
    assert scene.floor_region == (-0.2, 0.2, -0.2, 0.2)
    floor = scene.materials["rig.floor_material"]
    assert floor.texture == (tmp_path / "floor.png").resolve() and floor.tile_size == 0.4
    preset = FUR_PRESETS["agouti"]
    parts = sam_body.vertex_parts()
    assert np.allclose(scene.body_colours[parts == PARTS.index("tail")], preset.skin)
    back = (parts == PARTS.index("trunk")) & (sam_body.mesh.vertices[:, 2] > 0.025)
    assert np.allclose(np.median(scene.body_colours[back], axis=0), preset.fur, atol=0.02)
    (mirror,) = scene.mirrors
    assert mirror.mirror.normal == pytest.approx(np.array([0.0, -2.0, 1.0]) / np.sqrt(5))  # faces the arena
    assert mirror.suffix == "_north"
    assert mirror.keypoint_names(("nose",)) == ("nose_north",)


def _stripe_texture(path, width=256, height=64):
    """A four-colour texture (BGR file): left half red / right half green in the top rows, blue / yellow
    below."""
    import cv2

    img = np.zeros((height, width, 3), np.uint8)
    img[: height // 2, : width // 2] = (0, 0, 255)
    img[: height // 2, width // 2 :] = (0, 255, 0)
    img[height // 2 :, : width // 2] = (255, 0, 0)
    img[height // 2 :, width // 2 :] = (0, 255, 255)
    cv2.imwrite(str(path), img)
    return path


def test_textured_tread_is_a_band_wrapping_the_image_once_around_the_wheel(tmp_path):
    _stripe_texture(tmp_path / "tread.png")
    R, W = 0.1, 0.06
    spec = spec_of(
        f"rig:\n  type: wheel\n  radius: {R}\n  width: {W}\n  tread: texture\n  tread_texture: tread.png\n"
        "  wheel_material: {base: wheel_foam, roughness: 0.4}\n",
        tmp_path,
    )
    parts = parts_by_name(spec.rig)
    assert "wheel_ridges" not in parts and parts["wheel_tread"].material == "rig.tread_texture"
    band = parts["wheel_tread"]
    v = band.vertices.astype(np.float64)
    rel = v - [0.0, 0.0, -R]
    assert np.hypot(rel[:, 0], rel[:, 2]) == pytest.approx(R, abs=1e-6)  # on the running surface
    theta = np.arctan2(rel[:, 0], rel[:, 2])  # 0 on top, positive towards +x
    u, vv = band.uvs[:, 0].astype(np.float64), band.uvs[:, 1].astype(np.float64)
    inner = (u > 1e-6) & (u < 1 - 1e-6)  # the seam at the bottom is duplicated: u = 0 and u = 1
    assert u[inner] == pytest.approx((theta[inner] + np.pi) / (2 * np.pi), abs=1e-6)
    assert np.isclose(u, 0).sum() == np.isclose(u, 1).sum() == 2
    assert np.all(rel[np.isclose(u, 0) | np.isclose(u, 1), 2] == pytest.approx(-R, abs=1e-6))
    assert vv == pytest.approx((v[:, 1] + W / 2) / W, abs=1e-6)
    radial = rel * [1, 0, 1] / R
    assert band.normals == pytest.approx(radial, abs=1e-5)
    tri = v[band.faces]
    face_normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert (np.einsum("ij,ij->i", face_normal, radial[band.faces].mean(axis=1)) > 0).all()  # faces outward
    sides = parts["wheel"].vertices
    assert np.abs(sides[:, 1]) == pytest.approx(W / 2, abs=1e-7)  # only the two side discs remain
    scene = build_scene(spec)
    tread = scene.materials["rig.tread_texture"]
    assert tread.texture == (tmp_path / "tread.png").resolve() and tread.tile_size == 1.0
    assert np.allclose(tread.colour, 1.0) and tread.roughness == 0.4  # own colours, the wheel's surface


# sha256 of every default-wheel mesh (name, material, vertices, faces, normals, uvs), as the rig library built
# them before the see-through wheel options (slats, mesh, open and spoked sides) existed: those options must
# leave the wheels one could already write byte-identical (the demo scene is a wheel).
WHEEL_MESH_DIGESTS = {
    "{type: wheel}": "f89c51071dbdcc19cc4718644d51fa786d76e0162fb940b687e1c516175b44a4",
    "{type: wheel, tread: smooth}": "673c1cad9142219d93fdcb1ba936153f335a4c997186d684b5c3ff3c5813ed51",
    "{type: wheel, ridges: 40, radius: 0.1, screens: 3}": (
        "72d3e20c2fc55d226a43b949c73bbfb425aa5087e03259efa0fff9f9b2950a42"
    ),
}


@pytest.mark.parametrize("rig", sorted(WHEEL_MESH_DIGESTS))
def test_wheels_without_the_see_through_options_are_byte_identical(rig):
    spec = spec_of(f"rig: {rig}\n")
    anchors = Anchors(np.array([0.06, 0, 0.03]), np.array([0.085, 0, 0.012]), 0.095)
    digest = hashlib.sha256()
    for part in build_rig(spec.rig, anchors):
        digest.update(part.name.encode())
        digest.update(part.material.encode())
        for array in (part.vertices, part.faces, part.normals, part.uvs):
            digest.update(np.ascontiguousarray(array).tobytes())
    assert digest.hexdigest() == WHEEL_MESH_DIGESTS[rig]
