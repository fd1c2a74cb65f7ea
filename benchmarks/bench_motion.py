"""Motion generation speed: frames per second per generator, for the open-field mix, random access, and IK.

Run: ``.venv/bin/python benchmarks/bench_motion.py [--model sam|parametric] [--frames 600] [--fps 30]``.
BLAS is limited to one thread (the target is >= 500 frames/s for SAM on one core). Prints measured numbers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(REPO.parent / "shared" / "assets" / "sam_mouse"))
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from synthmouse.body import load_body
    from synthmouse.motion import motion_rig
    from synthmouse.motion.mix import GENERATOR_SPECS, MotionMix
    from synthmouse.motion.retarget import PoseFitter

    threadpool_limits(1)
    body = load_body(args.model)
    t0 = time.perf_counter()
    rig = motion_rig(body)
    _ = rig.standing
    print(
        f"body {body.name}: {body.skeleton.n_joints} joints, {body.mesh.n_vertices} vertices; "
        f"rig + standing posture {time.perf_counter() - t0:.2f} s (once per body)"
    )
    n, fps = args.frames, args.fps
    print(f"\n{'generator':<22}{'frames/s':>10}   ({n} frames at {fps:g} fps, best of 3, one BLAS thread)")
    fit_dir = tempfile.TemporaryDirectory()
    for spec_cls in GENERATOR_SPECS:
        spec = (
            spec_cls()
            if spec_cls.model_fields["type"].default != "clip"
            else spec_cls(path=fitted_file(body, rig, Path(fit_dir.name) / "fit.npz", n, fps))
        )
        dt = best_of(lambda spec=spec: spec.generate(rig, n, fps, np.random.default_rng(0)).pose())
        print(f"{spec.type:<22}{n / dt:>10.0f}")
    mix_path = REPO / "docs" / "motion" / "openfield_mix.yaml"
    mix = MotionMix.from_yaml(mix_path, body)
    total = int(60 * fps)
    t0 = time.perf_counter()
    pose, ids, _ = mix.sample(total, fps, seed=1)
    dt = time.perf_counter() - t0
    print(f"{'openfield mix (sample)':<22}{total / dt:>10.0f}   ({total} frames, {len(set(ids))} segments)")
    fresh = MotionMix.from_yaml(mix_path, body)
    t0 = time.perf_counter()
    for i in range(total // 4):
        fresh.pose_at(i, fps, seed=1)
    dt = time.perf_counter() - t0
    print(f"{'mix pose_at in order':<22}{(total // 4) / dt:>10.0f}")
    rng = np.random.default_rng(0)
    picks = rng.integers(0, 10**6, size=20)
    fresh = MotionMix.from_yaml(mix_path, body)
    t0 = time.perf_counter()
    for i in picks:
        fresh.pose_at(int(i), fps, seed=1)
    dt = time.perf_counter() - t0
    print(f"{'mix pose_at random':<22}{len(picks) / dt:>10.1f}   (frames anywhere in the first 9 hours)")
    fitter = PoseFitter(body)
    targets = body.keypoints(pose[:20], fitter.kset)
    t0 = time.perf_counter()
    result = fitter.fit3d(targets)
    dt = time.perf_counter() - t0
    print(
        f"{'IK from 3D keypoints':<22}{20 / dt:>10.1f}   (mean error {result.error * 1000:.3f} mm, "
        f"{len(fitter.kset)} keypoints, {fitter.n_dofs} angles)"
    )


def fitted_file(body, rig, path: Path, n: int, fps: float) -> str:
    """A fit file (as ``synthmouse motion retarget`` writes) holding a generated walk, for the ``clip`` row."""
    from synthmouse.motion.base import Arena, RootState, Stage
    from synthmouse.motion.gait import LocomotionSpec

    clip = LocomotionSpec().generate(
        rig,
        n,
        fps,
        np.random.default_rng(1),
        Stage(arena=Arena(-0.3, 0.3, -0.3, 0.3)),
        RootState(-0.1, 0.0, 0.0),
        RootState(0.1, 0.05, 0.5),
    )
    np.savez(path, angles=clip.angles, root=clip.root, fps=fps, joints=np.array(body.skeleton.names))
    return str(path)


if __name__ == "__main__":
    main()
