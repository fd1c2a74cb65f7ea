"""Render a scene exported by ``bench_render.py`` with Blender's Cycles and print seconds per frame.

Run by a Python that can ``import bpy`` (e.g. the separate ``.venv-bpy`` virtualenv with ``pip install bpy``):

    python benchmarks/blender_cycles.py scene.npz --out DIR [--threads 2]

The ``.npz`` holds (all arrays; world metres, OpenCV camera conventions):

* ``mouse_faces (T, 3) int``, ``mouse_vertices (F, V, 3) float`` (one posed mesh per frame),
  ``mouse_colours (V, 3)`` sRGB vertex colours, ``mouse_roughness``, ``mouse_specular`` (scalars);
* ``rig_count``; for each rig mesh ``i``: ``rig{i}_vertices (N, 3)``, ``rig{i}_faces (T, 3)``,
  ``rig{i}_colour (3,)`` sRGB, ``rig{i}_emission (3,)`` sRGB, ``rig{i}_roughness``, ``rig{i}_specular``,
  ``rig{i}_opacity``;
* ``K (3, 3)``, ``R (3, 3)``, ``t (3,)`` (``x_cam = R @ x_world + t``), ``size (2,)`` width, height;
* ``ambient (3,)`` linear ambient radiance, ``background (3,)`` sRGB;
* ``light_kind (L,) str`` (``directional``, ``point``, ``spot``), ``light_rgb (L, 3)`` linear colour times
  intensity, ``light_position (L, 3)``, ``light_target (L, 3)``, ``light_distance (L,)`` (distance at which a
  point/spot intensity applies), ``light_cone_deg (L,)``, ``light_softness (L,)``;
* ``samples`` (scalar).

The synthmouse GL shading (``albedo * rgb * max(n.l, 0)`` per light plus ``ambient * albedo``) is matched
with Lambertian energy units: a sun of strength ``pi * rgb``, a point/spot of power ``4 pi^2 rgb d^2``, a
uniform world of radiance ``ambient`` (seen by shading rays only; camera rays see the background colour).

Cycles: CPU device, ``samples`` paths per pixel, no denoiser, default light paths, persistent data on (the
static rig is synced once). Frame 0 is rendered once as a warm-up (kernel load, BVH, shader compilation) and
reported with the scene construction as setup; the timed loop then updates the mouse vertices and renders
every frame to ``DIR/cycles_NNN.png``. The last stdout line is a JSON object with the timings (wall and
CPU seconds per frame, the CPU time summed over all of Cycles' threads).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Vector


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", type=Path, help="scene .npz written by bench_render.py")
    parser.add_argument("--out", type=Path, required=True, help="folder for the rendered PNG frames")
    parser.add_argument("--threads", type=int, default=0, help="Cycles CPU threads (0: automatic)")
    return parser.parse_args()


def srgb_to_linear(rgb) -> np.ndarray:
    """``(..., 3)`` 0..1 colours to linear light with gamma 2, the decode the GL renderer uses."""
    rgb = np.asarray(rgb, float)
    return rgb * rgb


def principled_material(
    name: str,
    colour,
    roughness: float,
    specular: float,
    emission=(0, 0, 0),
    opacity: float = 1.0,
    vertex_colour: str | None = None,
) -> bpy.types.Material:
    """A Principled BSDF material; ``colour`` and ``emission`` are linear, ``vertex_colour`` an attribute."""
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*[float(c) for c in colour], 1.0)
    bsdf.inputs["Roughness"].default_value = float(roughness)
    bsdf.inputs["Specular IOR Level"].default_value = float(specular)
    bsdf.inputs["Alpha"].default_value = float(opacity)
    if np.any(np.asarray(emission) > 0):
        bsdf.inputs["Emission Color"].default_value = (*[float(c) for c in emission], 1.0)
        bsdf.inputs["Emission Strength"].default_value = 1.0
    if vertex_colour is not None:
        attribute = mat.node_tree.nodes.new("ShaderNodeAttribute")
        attribute.attribute_name = vertex_colour
        mat.node_tree.links.new(attribute.outputs["Color"], bsdf.inputs["Base Color"])
    return mat


def add_mesh(name: str, vertices: np.ndarray, faces: np.ndarray, material) -> bpy.types.Object:
    """A smooth-shaded mesh object from ``(N, 3)`` vertices and ``(T, 3)`` triangles, linked to the scene."""
    data = bpy.data.meshes.new(name)
    data.from_pydata(np.asarray(vertices, float).tolist(), [], np.asarray(faces, int).tolist())
    data.shade_smooth()
    data.materials.append(material)
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def add_mouse(scene: dict) -> bpy.types.Mesh:
    """The mouse mesh (frame 0 pose) with its sRGB vertex colours as a linear point colour attribute."""
    colours = srgb_to_linear(scene["mouse_colours"])
    mat = principled_material(
        "fur",
        (0.1, 0.1, 0.1),
        float(scene["mouse_roughness"]),
        float(scene["mouse_specular"]),
        vertex_colour="fur_colour",
    )
    obj = add_mesh("mouse", scene["mouse_vertices"][0], scene["mouse_faces"], mat)
    attribute = obj.data.color_attributes.new("fur_colour", "FLOAT_COLOR", "POINT")
    rgba = np.concatenate([colours, np.ones((len(colours), 1))], axis=1).astype(np.float32)
    attribute.data.foreach_set("color", rgba.ravel())
    return obj.data


def add_rig(scene: dict) -> None:
    """Every rig mesh with a plain material (textures are not exported)."""
    for i in range(int(scene["rig_count"])):
        mat = principled_material(
            f"rig{i}",
            srgb_to_linear(scene[f"rig{i}_colour"]),
            float(scene[f"rig{i}_roughness"]),
            float(scene[f"rig{i}_specular"]),
            srgb_to_linear(scene[f"rig{i}_emission"]),
            float(scene[f"rig{i}_opacity"]),
        )
        add_mesh(f"rig{i}", scene[f"rig{i}_vertices"], scene[f"rig{i}_faces"], mat)


def add_camera(scene: dict) -> bpy.types.Object:
    """A Blender camera equal to the OpenCV pinhole ``K, R, t`` (square pixels; distortion is not modelled).

    Blender cameras look down their -z axis with +y up, OpenCV's down +z with +y down: the camera-to-world
    rotation is ``R.T @ diag(1, -1, -1)``. The principal point becomes a lens shift in units of the image
    width (OpenCV pixel centres are integers, Blender's at half-integers).
    """
    K, R, t = (np.asarray(scene[k], float) for k in ("K", "R", "t"))
    width, height = (int(v) for v in scene["size"])
    data = bpy.data.cameras.new("camera")
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = 36.0
    data.lens = K[0, 0] * data.sensor_width / width
    data.shift_x = (width / 2.0 - (K[0, 2] + 0.5)) / width
    data.shift_y = ((K[1, 2] + 0.5) - height / 2.0) / width
    data.clip_start, data.clip_end = 0.005, 20.0
    world_from_camera = np.eye(4)
    world_from_camera[:3, :3] = R.T @ np.diag([1.0, -1.0, -1.0])
    world_from_camera[:3, 3] = -R.T @ t
    obj = bpy.data.objects.new("camera", data)
    obj.matrix_world = Matrix(world_from_camera.tolist())
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.scene.camera = obj
    render = bpy.context.scene.render
    render.resolution_x, render.resolution_y, render.resolution_percentage = width, height, 100
    render.pixel_aspect_x = 1.0
    render.pixel_aspect_y = float(K[0, 0] / K[1, 1])
    return obj


def add_lights(scene: dict) -> None:
    """Suns, points and spots matching the GL renderer's Lambert intensities (see the module docstring)."""
    for i, kind in enumerate(np.asarray(scene["light_kind"]).astype(str)):
        rgb = np.asarray(scene["light_rgb"][i], float)
        scale = float(rgb.max())
        if scale <= 0:
            continue
        blender_kind = {"directional": "SUN", "point": "POINT", "spot": "SPOT"}[kind]
        data = bpy.data.lights.new(f"light{i}", blender_kind)
        data.color = tuple(rgb / scale)
        position = Vector(scene["light_position"][i].tolist())
        direction = Vector(scene["light_target"][i].tolist()) - position
        if blender_kind == "SUN":
            data.energy = math.pi * scale
            data.angle = 0.0
        else:
            data.energy = 4.0 * math.pi**2 * scale * float(scene["light_distance"][i]) ** 2
            data.shadow_soft_size = 0.0
        if blender_kind == "SPOT":
            data.spot_size = math.radians(2.0 * float(scene["light_cone_deg"][i]))
            data.spot_blend = float(scene["light_softness"][i])
        obj = bpy.data.objects.new(f"light{i}", data)
        obj.location = position
        obj.rotation_mode = "QUATERNION"
        obj.rotation_quaternion = direction.to_track_quat("-Z", "Y")
        bpy.context.scene.collection.objects.link(obj)


def set_world(scene: dict) -> None:
    """Uniform ambient radiance for shading rays; the flat background colour for camera rays."""
    world = bpy.data.worlds.new("world")
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    ambient = nodes["Background"]
    ambient.inputs["Color"].default_value = (*np.asarray(scene["ambient"], float).tolist(), 1.0)
    backdrop = nodes.new("ShaderNodeBackground")
    backdrop.inputs["Color"].default_value = (*srgb_to_linear(scene["background"]).tolist(), 1.0)
    path = nodes.new("ShaderNodeLightPath")
    mix = nodes.new("ShaderNodeMixShader")
    links.new(path.outputs["Is Camera Ray"], mix.inputs["Fac"])
    links.new(ambient.outputs["Background"], mix.inputs[1])
    links.new(backdrop.outputs["Background"], mix.inputs[2])
    links.new(mix.outputs["Shader"], nodes["World Output"].inputs["Surface"])
    bpy.context.scene.world = world


def set_cycles(samples: int, threads: int) -> None:
    """Cycles on the CPU: ``samples`` per pixel, no denoiser, standard (sRGB) view transform, PNG output."""
    bl_scene = bpy.context.scene
    bl_scene.render.engine = "CYCLES"
    bl_scene.cycles.device = "CPU"
    bl_scene.cycles.samples = samples
    bl_scene.cycles.use_denoising = False
    bl_scene.render.use_persistent_data = True
    bl_scene.view_settings.view_transform = "Standard"
    bl_scene.render.image_settings.file_format = "PNG"
    bl_scene.render.image_settings.color_mode = "RGB"
    if threads > 0:
        bl_scene.render.threads_mode = "FIXED"
        bl_scene.render.threads = threads


def projection_error(scene: dict, camera: bpy.types.Object) -> float:
    """Largest pixel distance between Blender's and OpenCV's (undistorted) projections of the mouse's
    frame-0 vertices: a check of the camera conversion."""
    from bpy_extras.object_utils import world_to_camera_view

    K, R, t = (np.asarray(scene[k], float) for k in ("K", "R", "t"))
    width, height = (int(v) for v in scene["size"])
    points = np.asarray(scene["mouse_vertices"][0], float)[::97]
    cam = points @ R.T + t
    cv = (cam[:, :2] / cam[:, 2:]) @ K[:2, :2].T + K[:2, 2]
    bpy.context.view_layer.update()
    ndc = np.array([tuple(world_to_camera_view(bpy.context.scene, camera, Vector(p)))[:2] for p in points])
    blender = np.stack([ndc[:, 0] * width - 0.5, (1.0 - ndc[:, 1]) * height - 0.5], axis=1)
    return float(np.abs(blender - cv).max())


def render(path: Path) -> float:
    """Render the current frame to ``path``; returns wall seconds."""
    bpy.context.scene.render.filepath = str(path)
    start = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    return time.perf_counter() - start


def main() -> int:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with np.load(args.scene) as npz:
        scene = {k: npz[k] for k in npz.files}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    mouse = add_mouse(scene)
    add_rig(scene)
    camera = add_camera(scene)
    add_lights(scene)
    set_world(scene)
    set_cycles(int(scene["samples"]), args.threads)
    build = time.perf_counter() - start
    warmup = render(args.out / "warmup.png")
    seconds, cpu_seconds = [], []
    for i, vertices in enumerate(scene["mouse_vertices"]):
        start, cpu_start = time.perf_counter(), time.process_time()
        mouse.vertices.foreach_set("co", np.asarray(vertices, np.float32).ravel())
        mouse.update()
        render(args.out / f"cycles_{i:03d}.png")
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    result = {
        "blender": bpy.app.version_string,
        "samples": int(scene["samples"]),
        "threads": bpy.context.scene.render.threads,
        "denoiser": None,
        "build_s": build,
        "warmup_s": warmup,
        "frame_s": seconds,
        "frame_cpu_s": cpu_seconds,
        "camera_check_px": projection_error(scene, camera),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
