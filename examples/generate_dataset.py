"""Render a small labelled dataset with the public API.

    python examples/generate_dataset.py OUT FRAMES [SCENE.yaml] [--size WIDTHxHEIGHT]

Without a scene file it renders the built-in demo scene (wheel rig, parametric mouse); --size shrinks its images.
"""

import argparse

import synthmouse as sm

parser = argparse.ArgumentParser(description="Render a labelled synthmouse dataset.")
parser.add_argument("out", help="output folder (new, empty, or this dataset to resume)")
parser.add_argument("frames", type=int, help="number of frames")
parser.add_argument("scene", nargs="?", help="scene file (default: the built-in demo scene)")
parser.add_argument("--size", help="image size of the demo scene's cameras, e.g. 160x120")
args = parser.parse_args()

size = tuple(int(v) for v in args.size.split("x")) if args.size else None
scene = sm.load_scene(args.scene) if args.scene else sm.demo_scene(size=size)
report = sm.generate(scene, out=args.out, frames=args.frames, formats=["dlc", "coco"])
print(f"{report.done} frames, complete: {report.complete}, manifest: {report.root / 'manifest.json'}")
