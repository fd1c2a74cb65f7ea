"""Build times and sizes of the parametric mouse: the cold canonical build (per stage), a cached default
build, a random individual, and skinning a batch of poses.

Run: ``python benchmarks/bench_parametric.py [--frames 256]``. Prints measured numbers; times are wall-clock
on this machine (shared CPUs make them noisy: the script repeats the cached measurements and reports the
median).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        _, t = timed(fn)
        times.append(t)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=256, help="poses to skin in the posing benchmark")
    args = parser.parse_args()

    from synthmouse.body import parametric
    from synthmouse.body import parametric_design as design
    from synthmouse.body.parametric import build_canonical_mouse, build_parametric_mouse, sample_shape
    from synthmouse.body.parametric_mesh import Field, clean_decimated, decimate, polygonize, taubin_smooth
    from synthmouse.body.pose import Pose

    # Stages of the cold build, one by one (the same calls canonical_mouse makes).
    sweep, parts = design.surface_parts()
    field = Field.build(sweep, parts)
    (verts, faces), t_poly = timed(polygonize, field)
    smooth, t_smooth = timed(taubin_smooth, verts, faces, 6)
    (dv, df), t_dec = timed(lambda: clean_decimated(*decimate(smooth, faces, 20_000)))
    print(
        f"marching cubes: {len(faces):,} triangles in {t_poly:.2f} s; Taubin {t_smooth:.2f} s; "
        f"decimation to {len(df):,} in {t_dec:.2f} s"
    )

    mouse, t_cold = timed(build_canonical_mouse)
    print(
        f"cold canonical build (all stages, weights, landmarks): {t_cold:.2f} s; "
        f"{len(mouse.vertices):,} vertices, {len(mouse.faces):,} faces, {len(mouse.names)} joints, "
        f"{mouse.weights.nnz / len(mouse.vertices):.2f} weights per vertex"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "canonical.npz"
        parametric._save_canonical(mouse, path)
        t_disk = median_time(lambda: parametric._load_canonical(path), 5)
        size = path.stat().st_size / 1e6
        print(f"canonical mouse from the disk cache: {1000 * t_disk:.0f} ms ({size:.1f} MB)")
    parametric.canonical_mouse()  # the in-process cache, as a program sees it after its first body
    t_default = median_time(build_parametric_mouse, 20)
    rng = np.random.default_rng(0)
    t_random = median_time(lambda: build_parametric_mouse(sample_shape(rng)), 20)
    print(f"cached build: default shape {1000 * t_default:.1f} ms, random individual {1000 * t_random:.1f} ms")

    body = build_parametric_mouse()
    sk = body.skeleton
    angles = rng.uniform(sk.limits[..., 0], sk.limits[..., 1], size=(args.frames, sk.n_joints, 3))
    pose = Pose.from_angles(angles, np.zeros((args.frames, 3)), np.broadcast_to(np.eye(3), (args.frames, 3, 3)))
    body.skin(pose[:2])
    _, t_skin = timed(body.skin, pose)
    print(f"skinning {args.frames} poses: {t_skin:.3f} s ({1e6 * t_skin / args.frames:.0f} us per frame)")


if __name__ == "__main__":
    main()
