"""Benchmark ``synthmouse generate``: frames per second and peak memory at 100 and 5,000 frames.

Each run happens in a fresh subprocess (so peak RSS is that run's alone) and reports:

* frames/s of the render-and-write loop, and the seconds spent exporting (DLC, SLEAP, COCO, LP);
* peak resident memory (``ru_maxrss``) before the loop starts (loading the body, building the scene), the
  resident memory sampled while the loop runs (after 10 % of the frames and at the end of the loop), and the
  overall peak: if memory grew with the number of frames, the late sample would exceed the early one, and the
  5,000-frame peak would exceed the 100-frame peak.

Sources: ``demo`` (default: the built-in wheel rig and parametric mouse through the GL renderer; the
5,000-frame run uses tiny 64 x 48 images to be quick) or ``fake`` (the tests' ellipse test double: the dataset
machinery alone, without renderer or body).

    python benchmarks/bench_generate.py                 # demo source, 100 and 5000 frames
    python benchmarks/bench_generate.py --source fake
    python benchmarks/bench_generate.py --frames 100 1000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child(source: str, frames: int, size: tuple[int, int], out: str) -> None:
    """Run one generation in this process and print a JSON line of measurements."""
    import resource

    from synthmouse.dataset.generation import GenerateOptions, generate

    if source == "fake":
        sys.path.insert(0, str(REPO / "tests"))
        from fakes.dataset import FakeSource

        src = FakeSource(seed=0, size=size)
    else:
        from synthmouse.dataset.scene_source import demo_source

        src = demo_source(size=size)
    samples: dict[str, float] = {}
    marks = {max(1, frames // 10): "rss_mb_at_10pct", frames: "rss_mb_at_end_of_loop"}
    timing = {"export_start": None}

    def progress(stage: str, done: int, total: int) -> None:
        if "peak_mb_before_loop" not in samples:
            samples["peak_mb_before_loop"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if stage == "render" and done in marks:
            samples[marks[done]] = _rss_mb()
        if stage.startswith("export") and timing["export_start"] is None:
            timing["export_start"] = time.perf_counter()

    options = GenerateOptions(n_frames=frames, formats=("dlc", "sleap", "coco", "lp"))
    start = time.perf_counter()
    report = generate(src, out, options, progress=progress)
    end = time.perf_counter()
    src.close()
    export_start = timing["export_start"] or end
    print(
        json.dumps(
            {
                "frames": frames,
                "size": list(size),
                "complete": report.complete,
                "loop_fps": frames / (export_start - start),
                "export_s": end - export_start,
                "total_s": end - start,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                **samples,
            }
        )
    )


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(source: str, frames: int, size: tuple[int, int]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, __file__, "--child", source, str(frames), f"{size[0]}x{size[1]}", str(Path(tmp) / "ds")]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", choices=("demo", "fake"), default="demo")
    parser.add_argument("--frames", type=int, nargs="+", default=[100, 5000])
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        source, frames, size, out = args.child
        child(source, int(frames), tuple(int(v) for v in size.split("x")), out)
        return
    print(f"source: {args.source}")
    print(
        f"{'frames':>7} {'size':>8} {'loop fps':>9} {'export s':>9} {'setup peak MB':>14} "
        f"{'RSS@10% MB':>11} {'RSS@end MB':>11} {'peak MB':>8}"
    )
    for frames in args.frames:
        size = (320, 240) if frames <= 1000 else (64, 48)
        r = run(args.source, frames, size)
        early, late = r.get("rss_mb_at_10pct", float("nan")), r.get("rss_mb_at_end_of_loop", float("nan"))
        print(
            f"{r['frames']:>7} {r['size'][0]:>4}x{r['size'][1]:<3} {r['loop_fps']:>9.1f} "
            f"{r['export_s']:>9.1f} {r['peak_mb_before_loop']:>14.1f} {early:>11.1f} {late:>11.1f} "
            f"{r['peak_rss_mb']:>8.1f}"
        )


if __name__ == "__main__":
    main()
