"""Posing speed of the SAM body: forward kinematics + skinning + keypoints, in poses per second on one core.

Usage::

    python benchmarks/bench_body.py [--model PATH_TO_SAM_FOLDER] [--seconds 1.0]

BLAS is limited to one thread (threadpoolctl); the BLAS library and the kernel it uses are printed, because
the environment can change them (``OPENBLAS_CORETYPE=Haswell`` forces an older OpenBLAS kernel). To compare,
run it twice::

    python benchmarks/bench_body.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_body.py

Two references are measured in the same process on the same poses:

* baseline: a straightforward per-pose implementation -- the same forward kinematics, a sparse (scipy) blend
  of the 3 x 4 joint matrices per vertex, an ``einsum`` to apply them, keypoints from the posed vertices;
* dense blend: synthmouse's previous batched skinning (a dense BLAS product over the weighted joints, then
  the blended matrices applied per vertex), which depends on the BLAS kernel.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from synthmouse.body import KeypointSet, Pose
from synthmouse.body.mesh import skinning_matrices
from synthmouse.body.model import Body
from synthmouse.body.sam import load_sam

DEFAULT_SAM = Path(__file__).resolve().parents[1].parent / "shared" / "assets" / "sam_mouse"
BATCHES = (1, 10, 100)
TARGET_POSES_PER_S = 1000


def random_poses(body: Body, frames: int, seed: int) -> Pose:
    """``frames`` poses with joint angles uniform inside the limits and a random root placement."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, frames])))
    lim = body.skeleton.limits
    angles = rng.uniform(lim[..., 0], lim[..., 1], size=(frames, *lim.shape[:2]))
    return Pose.from_angles(angles, rng.uniform(-0.2, 0.2, size=(frames, 3)))


def pose_body(body: Body, pose: Pose, kset: KeypointSet) -> tuple[np.ndarray, np.ndarray]:
    """The library path: ``(F, V, 3)`` vertices and ``(F, K, 3)`` keypoints."""
    world = body.world_frames(pose)
    return body.skin(pose, world), body.keypoints(pose, kset, world)


def naive_pose_body(body: Body, pose: Pose, kset: KeypointSet) -> tuple[np.ndarray, np.ndarray]:
    """The baseline: one pose at a time, sparse blend then einsum; keypoints from the posed vertices."""
    weights = body.mesh.weights.astype(np.float32)
    homogeneous = np.hstack([body.mesh.vertices, np.ones((body.mesh.n_vertices, 1), np.float32)])
    out_v = np.empty((pose.n_frames, body.mesh.n_vertices, 3), np.float32)
    out_k = np.empty((pose.n_frames, len(kset), 3))
    for f in range(pose.n_frames):
        world = body.skeleton.forward_kinematics(pose.rotations[f : f + 1], pose.root[f : f + 1])
        mats = skinning_matrices(world, body.skeleton.rest)[0].astype(np.float32)  # (J, 3, 4)
        blended = (weights @ mats.reshape(len(mats), 12)).reshape(-1, 3, 4)
        out_v[f] = np.einsum("vik,vk->vi", blended, homogeneous)
        for k, kp in enumerate(kset.keypoints):
            if kp.on_skin:
                w = np.asarray(kp.weights or [1.0] * len(kp.vertices))
                out_k[f, k] = (w / w.sum()) @ out_v[f, list(kp.vertices)]
            else:
                frame = world[0, body.skeleton.index(kp.joint)]
                out_k[f, k] = frame[:3, :3] @ np.asarray(kp.offset) + frame[:3, 3]
    return out_v, out_k


def make_dense_blend(body: Body):
    """The previous batched implementation (dense BLAS blend of the joint matrices, then per-vertex apply),
    with its dense weight matrix built once, as the library cached it."""
    weights = body.mesh.weights
    used = np.unique(weights.indices)
    dense = weights[:, used].toarray().astype(np.float32)
    x, y, z = (body.mesh.vertices[:, None, i : i + 1] for i in range(3))

    def dense_blend_pose_body(body: Body, pose: Pose, kset: KeypointSet) -> tuple[np.ndarray, np.ndarray]:
        world = body.world_frames(pose)
        mats = skinning_matrices(world, body.skeleton.rest)[:, used].astype(np.float32)
        frames = pose.n_frames
        flat = np.ascontiguousarray(mats.transpose(1, 0, 2, 3).reshape(len(used), frames * 12))
        blended = (dense @ flat).reshape(len(dense), frames, 3, 4)
        posed = blended[..., 0] * x
        posed += blended[..., 1] * y
        posed += blended[..., 2] * z
        posed += blended[..., 3]
        return np.ascontiguousarray(posed.transpose(1, 0, 2)), body.keypoints(pose, kset, world)

    return dense_blend_pose_body


def time_call(fn, seconds: float) -> list[float]:
    """Wall-clock durations of repeated calls for at least ``seconds`` (and at least 3 calls)."""
    durations: list[float] = []
    start = time.perf_counter()
    while len(durations) < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - t0)
    return durations


def blas_description() -> str:
    libs = [
        f"{i['internal_api']} {i.get('version')} kernel={i.get('architecture')} threads={i['num_threads']}"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    return "; ".join(libs) or "no BLAS found by threadpoolctl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_SAM, help="SAM text folder")
    parser.add_argument("--seconds", type=float, default=1.0, help="minimum timing per measurement")
    args = parser.parse_args()

    body = load_sam(args.model)
    kset = body.keypoint_set("mouse22")
    env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    print(f"environment: {env}")
    print(
        f"SAM: {body.mesh.n_vertices} vertices, {body.skeleton.n_joints} joints, "
        f"{body.mesh.weights.nnz} skinning weights; keypoints: mouse22 ({len(kset)})"
    )
    with threadpool_limits(limits=1):
        print(f"BLAS (limited to 1 thread): {blas_description()}")
        check = random_poses(body, 3, seed=99)
        fast = pose_body(body, check, kset)
        dense_blend_pose_body = make_dense_blend(body)
        for label, fn in (("baseline", naive_pose_body), ("dense blend", dense_blend_pose_body)):
            other = fn(body, check, kset)
            err_v, err_k = (float(np.abs(a - b).max()) for a, b in zip(fast, other, strict=True))
            print(f"agreement with the {label}: vertices {err_v:.2e} m, keypoints {err_k:.2e} m")
        print("poses/s, median (best) of repeated calls; ratio = synthmouse / baseline")
        print(f"{'batch':>6} {'synthmouse':>18} {'baseline':>10} {'dense blend':>12} {'ratio':>7}")
        for frames in BATCHES:
            pose = random_poses(body, frames, seed=1)
            pose_body(body, pose, kset)  # warm the caches (skinning operator, compiled keypoints)
            fast_t = time_call(lambda pose=pose: pose_body(body, pose, kset), args.seconds)
            naive_t = time_call(lambda pose=pose: naive_pose_body(body, pose, kset), args.seconds)
            dense_t = time_call(lambda pose=pose: dense_blend_pose_body(body, pose, kset), args.seconds)
            rate, best = frames / statistics.median(fast_t), frames / min(fast_t)
            base, dense = frames / statistics.median(naive_t), frames / statistics.median(dense_t)
            flag = "" if rate >= TARGET_POSES_PER_S else f"  (below the {TARGET_POSES_PER_S}/s target)"
            ratio = rate / base
            row = f"{frames:>6} {rate:>10.0f} ({best:>5.0f}) {base:>10.0f} {dense:>12.0f} {ratio:>6.1f}x"
            print(row + flag)


if __name__ == "__main__":
    main()
