"""Toy labelled frames for pose tests (dark ellipses with a grey dot per keypoint)."""

from __future__ import annotations

import cv2
import numpy as np

from synthmouse.io.labels import LabelledFrames

NAMES = ("snout", "leftear", "rightear", "tailbase")


def toy_frames(folder, n=4, seed=0) -> LabelledFrames:
    """Dark ellipses with a distinct grey dot at each keypoint (snout, ears, tail base) on a light floor."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths, kps = [], []
    for i in range(n):
        image = np.full((64, 80), 200, np.uint8)
        c, a = rng.uniform([25, 20], [55, 44]), rng.uniform(0, np.pi)
        d, nrm = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
        pts = np.round(np.array([c + 9 * d, c + 4 * d + 4 * nrm, c + 4 * d - 4 * nrm, c - 9 * d]))
        cv2.ellipse(image, (int(c[0]), int(c[1])), (10, 5), float(np.degrees(a)), 0, 360, 40, -1)
        for p, v in zip(pts, (120, 250, 160, 90), strict=True):
            cv2.circle(image, (int(p[0]), int(p[1])), 2, v, -1)
        path = folder / f"img{i:03d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
        kps.append(pts)
    return LabelledFrames(names=NAMES, xy=np.array(kps, float), keys=tuple(p.name for p in paths), images=tuple(paths))
