"""How much of a pose model's error on real frames is a labelling convention rather than a failure?

Compares a model's predictions with human labels (both DeepLabCut .h5 tables of the same frames), in the body
frame of the prediction (x along the predicted tail base -> snout axis): prints each keypoint's median offset, then
the error after subtracting per-keypoint offsets fitted on ``--calibration`` labelled frames, on the other frames.

    synthmouse predict MODEL ../shared/real/openfield/labeled-data/m4s1 --out pred
    python docs/results/label_offsets.py pred.h5 ../shared/real/openfield/labeled-data/m4s1/CollectedData_Pranav.h5
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd


def xy(table: pd.DataFrame, bodypart: str) -> np.ndarray:
    """``(N, 2)`` x, y of one body part (first scorer)."""
    scorer = table.columns.get_level_values(0)[0]
    return np.stack([table[(scorer, bodypart, c)].to_numpy(float) for c in ("x", "y")], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions")
    parser.add_argument("labels")
    parser.add_argument("--head", default="snout")
    parser.add_argument("--tail", default="tailbase")
    parser.add_argument("--calibration", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pred, human = pd.read_hdf(args.predictions), pd.read_hdf(args.labels)
    if len(pred) != len(human):
        raise SystemExit(f"{args.predictions} has {len(pred)} rows, {args.labels} {len(human)}: not the same frames")
    names = [b for b in dict.fromkeys(human.columns.get_level_values("bodyparts"))]
    axis = xy(pred, args.head) - xy(pred, args.tail)
    u = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    order = np.random.default_rng(args.seed).permutation(len(human))
    cal, test = order[: args.calibration], order[args.calibration :]
    raw, corrected = [], []
    for name in names:
        p, h = xy(pred, name), xy(human, name)
        d = p - h
        along, across = (d * u).sum(1), (d * v).sum(1)
        print(
            f"{name:>12}: median offset {np.nanmedian(along):+6.1f} px along the body axis (towards the head +), "
            f"{np.nanmedian(across):+5.1f} px across; median error {np.nanmedian(np.linalg.norm(d, axis=1)):.1f} px"
        )
        shift = np.nanmedian(along[cal])[None] * u + np.nanmedian(across[cal])[None] * v
        raw.append(np.linalg.norm(d[test], axis=1))
        corrected.append(np.linalg.norm((p - shift - h)[test], axis=1))
    raw, corrected = np.concatenate(raw), np.concatenate(corrected)
    ok = np.isfinite(raw) & np.isfinite(corrected)
    rmse = lambda e: float(np.sqrt(np.mean(e**2)))  # noqa: E731
    print(f"held-out frames {len(test)}: RMSE {rmse(raw[ok]):.2f} px, median {np.median(raw[ok]):.2f} px")
    print(
        f"after per-keypoint offsets fitted on {len(cal)} labelled frames: RMSE {rmse(corrected[ok]):.2f} px, "
        f"median {np.median(corrected[ok]):.2f} px"
    )
    swaps = ok & (raw >= 40)
    keep = ok & ~swaps
    print(
        f"points with an error >= 40 px (head/tail swaps): {int(swaps.sum())} of {int(ok.sum())}; without them "
        f"RMSE {rmse(raw[keep]):.2f} -> {rmse(corrected[keep]):.2f} px"
    )


if __name__ == "__main__":
    main()
