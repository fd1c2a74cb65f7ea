"""Rendering speed: SAM on the running wheel, 640 x 480, all ground truth, llvmpipe limited to 2 cores.

Every frame: a new pose (skinning on the CPU), shadow map of the mouse, one geometry pass into colour,
part-id and camera-z targets, read back, lens distortion (cv2.remap of image, depth and part ids), keypoints
through the OpenCV camera model and their visibility. Prints frames per second (wall clock), CPU time per
frame (all threads) and a breakdown. When a Python with ``bpy`` is found (``$SYNTHMOUSE_BPY_PYTHON``, else
``.venv-bpy/bin/python``, else this one) it exports the same scene and renders a few of the same poses with
Blender's Cycles (``blender_cycles.py``, 16 samples, CPU, same cores), prints the speed ratio and saves
``docs/renders/cycles_vs_gl.png``; otherwise it says why it skipped.

Run: ``python benchmarks/bench_render.py [--frames 120] [--cores 2] [--sam PATH] [--cycles-frames 3]``
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
    parser.add_argument("--cores", type=int, default=2, help="CPU cores for the process and llvmpipe (0: all)")
    parser.add_argument("--sam", type=Path, default=shared / "assets" / "sam_mouse")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cycles-frames", type=int, default=3, help="frames rendered with Cycles (0: skip)")
    parser.add_argument("--cycles-samples", type=int, default=16)
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
    blender_comparison(renderer, scene, poses, fps, cpu / args.frames, args)
    renderer.close()
    return 0


def print_breakdown(renderer, scene, poses) -> None:
    """Wall and CPU milliseconds per stage, averaged over ``poses`` (each stage finished with ``ctx.finish``;
    CPU time counts every thread of the process, llvmpipe's included, so it is robust to other load)."""
    import numpy as np

    from synthmouse.render.visibility import label_keypoints

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
        label_keypoints(scene, camera, kp, depth, [], 0.005)
        stop("keypoints+visibility")
    print("breakdown, wall ms: " + ", ".join(f"{k} {1000 * np.mean(v):.1f}" for k, v in wall.items()))
    print("breakdown, CPU ms:  " + ", ".join(f"{k} {1000 * np.mean(v):.1f}" for k, v in cpu.items()))


def blender_comparison(renderer, scene, poses, gl_fps: float, gl_cpu_s: float, args: argparse.Namespace) -> None:
    """Render the same scene (posed SAM meshes, rig, camera, lights) with Blender's Cycles in a Python that
    has ``bpy`` (a separate virtualenv: bpy pins its own numpy), print both speeds and their ratio and save
    one Cycles and one GL frame of the same pose side by side."""
    import json
    import subprocess
    import tempfile

    from synthmouse.render import FrameState

    if args.cycles_frames <= 0:
        print("Blender comparison skipped: --cycles-frames 0")
        return
    python = find_bpy_python()
    if python is None:
        print(
            "Blender comparison skipped: no Python with bpy (set SYNTHMOUSE_BPY_PYTHON, or: python3.11 -m venv "
            ".venv-bpy && .venv-bpy/bin/pip install bpy)"
        )
        return
    script = Path(__file__).with_name("blender_cycles.py")
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "scene.npz"
        export_blender_scene(scene, poses[: args.cycles_frames], npz, args.cycles_samples)
        command = [python, str(script), str(npz), "--out", tmp, "--threads", str(len(os.sched_getaffinity(0)))]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"Blender comparison failed ({python}, exit {done.returncode}):\n{done.stderr[-2000:]}")
            return
        cycles = json.loads(done.stdout.strip().splitlines()[-1])
        cycles_frame = read_png(Path(tmp) / "cycles_000.png")
    seconds = float(sum(cycles["frame_s"]) / len(cycles["frame_s"]))
    cpu_seconds = float(sum(cycles["frame_cpu_s"]) / len(cycles["frame_cpu_s"]))
    ratio = seconds * gl_fps
    print(
        f"Blender {cycles['blender']} Cycles, CPU ({cycles['threads']} threads), {cycles['samples']} samples, "
        f"no denoiser, 640x480: scene build {cycles['build_s']:.2f} s, first render {cycles['warmup_s']:.2f} s, "
        f"then {seconds:.2f} s/frame over {len(cycles['frame_s'])} frames "
        f"({', '.join(f'{s:.2f}' for s in cycles['frame_s'])}); camera check {cycles['camera_check_px']:.3f} px"
    )
    print(f"Cycles CPU time: {cpu_seconds:.2f} s/frame over all threads")
    print(
        f"GL renderer: {1000 / gl_fps:.1f} ms/frame wall, {1000 * gl_cpu_s:.1f} ms/frame CPU "
        "(all ground truth, distortion, shadows)"
    )
    print(
        f"ratio Cycles / GL per frame: wall {ratio:.0f}x, CPU {cpu_seconds / gl_cpu_s:.0f}x -> "
        f"target >= 50x: {'met' if ratio >= 50 else 'NOT met'}"
    )
    gl_frame = renderer.render(scene, FrameState(0, poses[0])).views[0].rgb
    out = Path(__file__).resolve().parents[1] / "docs" / "renders" / "cycles_vs_gl.png"
    save_side_by_side(distort_like(cycles_frame, scene.cameras[0]), gl_frame, out)
    print(f"saved {out} (left: Cycles with the lens distortion applied afterwards, right: GL)")


def find_bpy_python() -> str | None:
    """``$SYNTHMOUSE_BPY_PYTHON``, else ``.venv-bpy/bin/python`` in the repository, else this Python if it can
    import bpy; None when there is none."""
    import importlib.util

    env = os.environ.get("SYNTHMOUSE_BPY_PYTHON")
    if env:
        return env
    local = Path(__file__).resolve().parents[1] / ".venv-bpy" / "bin" / "python"
    if local.is_file():
        return str(local)
    return sys.executable if importlib.util.find_spec("bpy") is not None else None


def export_blender_scene(scene, poses, path: Path, samples: int) -> None:
    """Write the posed mouse meshes ``(F, V, 3)`` (one per pose), the rig meshes with their materials, the first
    camera's OpenCV ``K, R, t`` and the lights to ``path`` in the layout ``blender_cycles.py`` documents."""
    import numpy as np

    from synthmouse.render.gl import _decode

    cam = scene.cameras[0]
    data = {
        "samples": samples,
        "mouse_faces": np.asarray(scene.body.mesh.faces, np.int32),
        "mouse_vertices": np.concatenate([scene.body.skin(pose) for pose in poses]).astype(np.float32),
        "mouse_colours": np.asarray(scene.body_colours, np.float32),
        "mouse_roughness": scene.body_material.roughness,
        "mouse_specular": scene.body_material.specular,
        "rig_count": len(scene.rig),
        "K": cam.K,
        "R": cam.R,
        "t": cam.t,
        "size": np.array([cam.width, cam.height]),
        "background": np.asarray(scene.background, np.float32),
    }
    for i, mesh in enumerate(scene.rig):
        material = scene.materials[mesh.material]
        data |= {
            f"rig{i}_vertices": mesh.vertices,
            f"rig{i}_faces": mesh.faces,
            f"rig{i}_colour": material.colour,
            f"rig{i}_emission": material.emission,
            f"rig{i}_roughness": material.roughness,
            f"rig{i}_specular": material.specular,
            f"rig{i}_opacity": material.opacity,
        }
    ambient = [light for light in scene.lights if light.kind == "ambient"]
    lights = [light for light in scene.lights if light.kind != "ambient"]
    data["ambient"] = sum((_decode(a.colour) * a.intensity for a in ambient), np.zeros(3, np.float32))
    data |= {
        "light_kind": np.array([light.kind for light in lights], dtype="U16"),
        "light_rgb": np.array([_decode(light.colour) * light.intensity for light in lights]).reshape(-1, 3),
        "light_position": np.array([light.position for light in lights], float).reshape(-1, 3),
        "light_target": np.array([light.target for light in lights], float).reshape(-1, 3),
        "light_distance": np.array([light.reference_distance for light in lights], float),
        "light_cone_deg": np.array([light.cone_deg for light in lights], float),
        "light_softness": np.array([light.softness for light in lights], float),
    }
    np.savez(path, **data)


def read_png(path: Path):
    """``(H, W, 3) uint8`` RGB image."""
    import cv2

    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def distort_like(image, camera):
    """Apply ``camera``'s lens distortion to a pinhole render ``(H, W, 3)`` made with the same ``K``."""
    import cv2

    map_x, map_y = cv2.initUndistortRectifyMap(
        camera.K, camera.dist, None, camera.K, (camera.width, camera.height), cv2.CV_32FC1
    )
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR)


def save_side_by_side(left, right, path: Path) -> None:
    """Both ``(H, W, 3) uint8`` images at half size next to each other, as a PNG."""
    import cv2
    import numpy as np

    from synthmouse.fileio import atomic_path

    pair = np.concatenate([left, right], axis=1)
    small = cv2.resize(pair, (pair.shape[1] // 2, pair.shape[0] // 2), interpolation=cv2.INTER_AREA)
    with atomic_path(path) as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    sys.exit(main())
