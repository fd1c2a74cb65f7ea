"""Rendering speed: SAM on the running wheel, 640 x 480, all ground truth, llvmpipe limited to 2 cores.

Every frame: a new pose (skinning on the CPU), shadow map of the mouse, one geometry pass into colour,
part-id and camera-z targets, read back, lens distortion (cv2.remap of image, depth and part ids), keypoints
through the OpenCV camera model and their visibility. Prints frames per second (wall clock), CPU time per
frame (all threads) and a breakdown. When ``bpy`` is importable it also renders the same scene with
Blender's Cycles at 16 samples and prints the speed ratio; otherwise it says why it skipped.

Run: ``python benchmarks/bench_render.py [--frames 120] [--cores 2] [--sam PATH]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

SCENE = """
body:
  model: {sam}
  keypoints: mouse22
  fur: black
rig:
  type: wheel
  radius: 0.09
  width: 0.07
  screens: 1
cameras:
  - name: side
    width: 640
    height: 480
    fx: 950
    distortion: [-0.12, 0.05, 0.001, -0.0005, 0.0]
    look_at: {{eye: [0.02, 0.30, 0.03], target: [0.0, 0.0, 0.005]}}
outputs:
  ground_truth: [keypoints, visibility, keypoints3d, depth, mask, parts]
"""


def parse_args() -> argparse.Namespace:
    repo = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("SYNTHMOUSE_SHARED", repo.parent / "shared"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument(
        "--cores", type=int, default=2, help="CPU cores for the process and llvmpipe (0: all)"
    )
    parser.add_argument("--sam", type=Path, default=shared / "assets" / "sam_mouse")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def limit_cores(cores: int) -> None:
    """Pin the process to ``cores`` CPUs and tell llvmpipe to use as many threads (before any GL import)."""
    if cores <= 0:
        return
    available = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, available[:cores])
    os.environ["LP_NUM_THREADS"] = str(min(cores, len(available)))


def random_poses(scene, n: int, seed: int):
    """``n`` one-frame poses: rest angles plus N(0, 0.15 rad) noise, clamped to the joint limits."""
    import numpy as np

    from synthmouse.body import Pose

    body = scene.body
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0, 17]))
    limits = body.skeleton.limits
    poses = []
    for _ in range(n):
        angles = np.clip(rng.normal(0.0, 0.15, limits.shape[:2]), limits[..., 0], limits[..., 1])
        pose = Pose.from_angles(angles[None])
        poses.append(scene.place(pose))
    return poses


def main() -> int:
    args = parse_args()
    limit_cores(args.cores)

    from synthmouse.render import FrameState
    from synthmouse.render.gl import GLRenderer
    from synthmouse.scene.build import build_scene
    from synthmouse.scene.spec import parse_scene_spec

    if not (args.sam / "vertices.txt").is_file():
        print(f"SAM model not found at {args.sam}; pass --sam PATH")
        return 1
    scene = build_scene(parse_scene_spec(SCENE.format(sam=args.sam)))
    poses = random_poses(scene, args.frames, args.seed)
    renderer = GLRenderer()
    print(
        f"renderer: {renderer.info['GL_RENDERER']} ({renderer.info['GL_VERSION']}); cores: "
        f"{len(os.sched_getaffinity(0))}, LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', '-')}"
    )
    print(
        f"scene: SAM ({scene.body.mesh.n_vertices} vertices, {len(scene.body.mesh.faces)} triangles) on the "
        f"wheel rig ({sum(len(m.faces) for m in scene.rig)} triangles), 640x480, distortion, shadows"
    )
    for pose in poses[:5]:  # warm-up: shader compilation, buffers, distortion maps
        renderer.render(scene, pose)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i, pose in enumerate(poses):
        result = renderer.render(scene, FrameState(i, pose))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    view = result.views[0]
    fps = args.frames / wall
    print(
        f"frames: {args.frames}  wall: {wall:.2f} s  -> {fps:.1f} frames/s  "
        f"({1000 * wall / args.frames:.1f} ms/frame, "
        f"CPU {1000 * cpu / args.frames:.1f} ms/frame over all threads)"
    )
    print(
        f"per frame: rgb {view.rgb.shape}, depth {view.depth.dtype}, mask, parts, "
        f"{len(view.names)} keypoints "
        f"({int(view.visible.sum())} visible)"
    )
    print_breakdown(renderer, scene, poses[:20])
    print(f"target >= 30 frames/s: {'met' if fps >= 30 else 'NOT met'}")
    blender_comparison(scene, poses[0], fps)
    renderer.close()
    return 0


def print_breakdown(renderer, scene, poses) -> None:
    """Wall and CPU milliseconds per stage, averaged over ``poses`` (each stage finished with ``ctx.finish``;
    CPU time counts every thread of the process, llvmpipe's included, so it is robust to other load)."""
    import numpy as np

    from synthmouse.render.gl import _label_keypoints

    body = scene.body
    camera = scene.cameras[0]
    gpu = renderer._prepare(scene)
    stages = ("skin+normals+upload", "shadow", "draw", "read+remap", "keypoints+visibility")
    wall: dict[str, list[float]] = {k: [] for k in stages}
    cpu: dict[str, list[float]] = {k: [] for k in stages}
    clock = {}

    def start() -> None:
        clock["w"], clock["c"] = time.perf_counter(), time.process_time()

    def stop(stage: str) -> None:
        wall[stage].append(time.perf_counter() - clock["w"])
        cpu[stage].append(time.process_time() - clock["c"])

    lens = renderer._lens(camera)
    target = renderer._target(*lens.render_camera.size)
    for pose in poses:
        start()
        world = body.world_frames(pose)
        renderer._upload_mouse(gpu, body.skin(pose, world)[0])
        kp = body.keypoints(pose, scene.keypoint_set, world)[0]
        renderer.ctx.finish()
        stop("skin+normals+upload")
        start()
        renderer._shadow_pass(gpu, dynamic=True)
        renderer.ctx.finish()
        stop("shadow")
        start()
        renderer._draw_frame(gpu, target, lens.render_camera, 2.0, [])
        renderer.ctx.finish()
        stop("draw")
        start()
        _, depth, _ = renderer._read(target, lens)
        stop("read+remap")
        start()
        _label_keypoints(scene, camera, kp, depth, [], 0.005)
        stop("keypoints+visibility")
    print("breakdown, wall ms: " + ", ".join(f"{k} {1000 * np.mean(v):.1f}" for k, v in wall.items()))
    print("breakdown, CPU ms:  " + ", ".join(f"{k} {1000 * np.mean(v):.1f}" for k, v in cpu.items()))


def blender_comparison(scene, pose, gl_fps: float) -> None:
    """Render the same meshes, camera and key light with Cycles (16 samples) and print the speed ratio."""
    try:
        import bpy  # noqa: F401
    except ImportError:
        print("Blender comparison skipped: the bpy module is not importable (pip install bpy, Python 3.11)")
        return
    seconds = cycles_render_seconds(scene, pose)
    print(
        f"Blender Cycles, 16 samples, same scene: {seconds:.2f} s/frame -> GL renderer is "
        f"{gl_fps * seconds:.0f}x faster"
    )


def cycles_render_seconds(scene, pose, samples: int = 16, repeats: int = 2) -> float:
    """Seconds per frame for Cycles on the scene's meshes (mouse + rig), first camera, lights as
    suns/points."""
    import tempfile

    import bpy
    import numpy as np

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bl_scene = bpy.context.scene
    meshes = [("mouse", scene.body.skin(pose)[0], scene.body.mesh.faces)]
    meshes += [(m.name, m.vertices, m.faces) for m in scene.rig]
    for name, verts, faces in meshes:
        data = bpy.data.meshes.new(name)
        data.from_pydata(np.asarray(verts, float).tolist(), [], np.asarray(faces).tolist())
        bl_scene.collection.objects.link(bpy.data.objects.new(name, data))
    cam = scene.cameras[0]
    cam_data = bpy.data.cameras.new("cam")
    cam_data.sensor_fit = "HORIZONTAL"
    cam_data.sensor_width = 36.0
    cam_data.lens = cam.fx * 36.0 / cam.width
    cam_obj = bpy.data.objects.new("cam", cam_data)
    blender_from_cv = np.diag([1.0, -1.0, -1.0])  # Blender cameras look down -z with y up
    world_from_cam = np.eye(4)
    world_from_cam[:3, :3] = cam.R.T @ blender_from_cv
    world_from_cam[:3, 3] = cam.position
    cam_obj.matrix_world = world_from_cam.tolist()  # a list of rows, as mathutils.Matrix takes it
    bl_scene.collection.objects.link(cam_obj)
    bl_scene.camera = cam_obj
    for i, light in enumerate(scene.lights):
        if light.kind == "ambient":
            continue
        kind = {"directional": "SUN", "point": "POINT", "spot": "SPOT"}[light.kind]
        data = bpy.data.lights.new(f"light{i}", kind)
        data.energy = float(light.intensity) * (3.0 if kind == "SUN" else 50.0)
        obj = bpy.data.objects.new(f"light{i}", data)
        obj.location = tuple(float(x) for x in light.position)
        obj.rotation_mode = "QUATERNION"
        obj.rotation_quaternion = _track_quaternion(light.direction)
        bl_scene.collection.objects.link(obj)
    bl_scene.render.engine = "CYCLES"
    bl_scene.cycles.samples = samples
    bl_scene.cycles.device = "CPU"
    bl_scene.render.resolution_x, bl_scene.render.resolution_y = cam.width, cam.height
    bl_scene.render.resolution_percentage = 100
    with tempfile.TemporaryDirectory() as tmp:
        bl_scene.render.filepath = str(Path(tmp) / "frame.png")
        bpy.ops.render.render(write_still=True)  # warm-up (BVH build, kernel load)
        start = time.perf_counter()
        for _ in range(repeats):
            bpy.ops.render.render(write_still=True)
        return (time.perf_counter() - start) / repeats


def _track_quaternion(direction) -> tuple[float, float, float, float]:
    """Blender (w, x, y, z) quaternion turning the light's -z axis to ``direction``."""
    from scipy.spatial.transform import Rotation

    rot, _ = Rotation.align_vectors([direction], [[0.0, 0.0, -1.0]])
    x, y, z, w = rot.as_quat()  # scipy order
    return float(w), float(x), float(y), float(z)


if __name__ == "__main__":
    sys.exit(main())
