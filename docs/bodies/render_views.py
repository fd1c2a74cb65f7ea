"""Draw top, side and three-quarter views of the built-in bodies (parametric mouse, SAM) into docs/bodies/.

A quick orthographic matplotlib view (painter's algorithm, back-face culling, Lambert shading, colour by body
part) for documentation; the package's renderer is the real thing.
Run: ``python docs/bodies/render_views.py [--only parametric|sam] [--sam /path/to/sam_mouse]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from synthmouse.body.groups import PARTS  # noqa: E402

HERE = Path(__file__).resolve().parent
FUR = (0.30, 0.28, 0.27)
SKIN = (0.86, 0.66, 0.64)
PART_COLOURS = {
    "trunk": FUR,
    "head": FUR,
    "forelimb_l": FUR,
    "forelimb_r": FUR,
    "hindlimb_l": FUR,
    "hindlimb_r": FUR,
}
# (elevation, azimuth) in degrees: the camera looks from azimuth (about z, from +x towards +y) and elevation.
VIEWS = {"top": (90.0, -90.0), "side": (0.0, -90.0), "three_quarter": (30.0, -40.0)}


def view_rotation(elev: float, azim: float) -> np.ndarray:
    """``(3, 3)`` rotation taking body coordinates to screen (x right, y up, z towards the viewer)."""
    to_camera = Rotation.from_euler("zx", [-azim - 90.0, elev - 90.0], degrees=True)
    return to_camera.as_matrix()


def face_colours(
    parts: np.ndarray, faces: np.ndarray, normals: np.ndarray, eye: np.ndarray | None, light: np.ndarray
) -> np.ndarray:
    """``(T, 3)`` Lambert-shaded RGB per face (``light``: a unit vector in the normals' frame); base colour
    from
    the body part of the face's first vertex."""
    base = np.array([PART_COLOURS.get(PARTS[p], SKIN) for p in range(len(PARTS))])
    colour = base[parts[faces[:, 0]]]
    if eye is not None:
        colour[eye[faces].any(axis=1)] = (0.02, 0.02, 0.02)
    shade = 0.25 + 0.75 * np.clip(normals @ light, 0.0, 1.0) ** 1.5
    return np.clip(colour * shade[:, None], 0, 1)


def draw(
    body, out_prefix: str, eye: np.ndarray | None = None, title: str | None = None, folder: Path = HERE
) -> list[Path]:
    """Save one PNG per view (``folder/{out_prefix}_{view}.png``); returns the paths."""
    return draw_mesh(
        body.mesh.vertices * 1000.0,
        body.mesh.faces,
        body.vertex_parts(),
        out_prefix,
        eye,
        title or body.name,
        folder,
    )


def draw_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    parts: np.ndarray,
    out_prefix: str,
    eye: np.ndarray | None,
    title: str,
    folder: Path = HERE,
) -> list[Path]:
    """Draw a mesh ``(V, 3)`` mm, ``(T, 3)`` with ``(V,)`` part ids; see :func:`draw`."""
    v, f = np.asarray(vertices, dtype=np.float64), faces
    paths = []
    for view, (elev, azim) in VIEWS.items():
        rot = view_rotation(elev, azim)
        s = v @ rot.T
        tri = s[f]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-20
        front = normal[:, 2] > 0
        order = np.argsort(tri[front, :, 2].mean(axis=1))
        light = np.array([-0.35, 0.45, 1.0])  # from the viewer's upper left
        colours = face_colours(
            parts, f[front][order], normal[front][order], eye, light / np.linalg.norm(light)
        )
        lo, hi = s[:, :2].min(axis=0) - 2, s[:, :2].max(axis=0) + 2
        width = 7.0
        fig = plt.figure(figsize=(width, width * (hi[1] - lo[1]) / (hi[0] - lo[0]) + 0.3), dpi=100)
        ax = fig.add_axes((0, 0, 1, 0.93))
        ax.add_collection(
            PolyCollection(
                tri[front][order][..., :2], facecolors=colours, edgecolors=colours, linewidths=0.15
            )
        )
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.set_axis_off()
        fig.suptitle(f"{title}: {view.replace('_', '-')} view", fontsize=9, y=0.99)
        path = Path(folder) / f"{out_prefix}_{view}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sam", default=str(HERE.parents[2] / "shared" / "assets" / "sam_mouse"))
    parser.add_argument("--only", choices=("parametric", "sam"), default=None)
    args = parser.parse_args()
    if args.only in (None, "parametric"):
        from synthmouse.body.parametric import build_parametric_mouse, eye_mask

        body = build_parametric_mouse()
        print(*draw(body, "parametric", eye_mask(body)), sep="\n")
    if args.only in (None, "sam") and Path(args.sam).is_dir():
        from synthmouse.body.sam import load_sam

        print(*draw(load_sam(args.sam), "sam"), sep="\n")


if __name__ == "__main__":
    main()
