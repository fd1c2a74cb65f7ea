"""Contact sheets of motion clips: the skinned mesh drawn with matplotlib (flat-shaded, painter's algorithm).

Orthographic side (looking along +y, from the animal's right), top (looking down) and front views; the floor or
support surface as a line, the path of the root in the top view. Meant for looking at generated behaviour, not for
training images (that is :mod:`synthmouse.render`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..body import Body, Pose
from ..fileio import atomic_path

VIEWS = {
    # view: (screen-x axis, screen-y axis, towards-viewer axis) in world coordinates
    "side": (np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0])),
    "top": (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])),
    "front": (np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])),
}
_LIGHT = np.array([0.3, -0.5, 0.8])


def draw_mesh(
    ax,
    vertices: np.ndarray,
    faces: np.ndarray,
    view: str,
    colors: np.ndarray | None = None,
    centre: np.ndarray | None = None,
    heading: float = 0.0,
) -> None:
    """Draw posed vertices ``(V, 3)`` with faces ``(T, 3)`` on a matplotlib axis, orthographic ``view``.

    ``centre`` and ``heading`` (radians about z) put the animal in a body-aligned camera: the view axes are rotated
    by the heading so a side view stays a side view while the mouse turns.
    """
    from matplotlib.collections import PolyCollection

    sx, sy, sz = VIEWS[view]
    c, s = np.cos(heading), np.sin(heading)
    yaw = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    if view != "top":
        sx, sy, sz = yaw @ sx, yaw @ sy, yaw @ sz
    v = vertices - (0.0 if centre is None else centre)
    tri = v[faces]  # (T, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    light = _LIGHT / np.linalg.norm(_LIGHT)
    shade = 0.35 + 0.65 * np.abs(normal @ light)
    depth = tri.mean(axis=1) @ sz
    order = np.argsort(depth)
    xy = np.stack([tri @ sx, tri @ sy], axis=-1)[order]
    base = np.array([0.55, 0.5, 0.47]) if colors is None else colors[order]
    face_colors = np.clip(base * shade[order, None], 0.0, 1.0)
    ax.add_collection(PolyCollection(xy, facecolors=face_colors, edgecolors="none", antialiased=False))


def contact_sheet(
    body: Body,
    pose: Pose,
    path: str | Path,
    frames: int = 10,
    fps: float = 30.0,
    title: str = "",
    views: tuple[str, ...] = ("side", "top"),
    follow: bool = True,
    floor: float | None = 0.0,
    extra=None,
    dpi: int = 72,
    panel: float = 1.5,
) -> Path:
    """Write a PNG contact sheet of ``frames`` evenly spaced frames of ``pose``: one column per frame, one row per
    view. ``follow`` centres each panel on the animal and turns the side view with its heading. ``extra(ax,
    view, frame_index, centre)`` may draw more (a wheel, a target). Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = np.unique(np.linspace(0, pose.n_frames - 1, frames).round().astype(int))
    sub = pose[idx]
    verts = body.skin(sub)
    faces = body.mesh.faces
    half = 0.065
    low = (floor if floor is not None else float(verts[..., 2].min())) - 0.012
    high = max(float(verts[..., 2].max()) + 0.01, low + 0.06)
    ratios = [(high - low) / (2 * half) if v in ("side", "front") else 1.0 for v in views]
    fig, axes = plt.subplots(
        len(views),
        len(idx),
        figsize=(panel * len(idx), panel * sum(ratios) + 0.45),
        squeeze=False,
        gridspec_kw={"height_ratios": ratios},
    )
    for col, f in enumerate(idx):
        root = sub.root[col]
        ahead = root[:3, :3] @ np.array([0.2 * body.length, 0.0, 0.0])  # the trunk's middle, ahead of the root
        centre = np.array([root[0, 3] + ahead[0], root[1, 3] + ahead[1], 0.0]) if follow else np.zeros(3)
        heading = float(np.arctan2(root[1, 0], root[0, 0])) if follow else 0.0
        for row, view in enumerate(views):
            ax = axes[row, col]
            draw_mesh(ax, verts[col], faces, view, centre=centre, heading=heading)
            if floor is not None and view in ("side", "front"):
                ax.axhline(floor, color="0.3", lw=0.8)
            if extra is not None:
                extra(ax, view, int(f), centre)
            lim = (-half, half)
            ax.set_xlim(*lim)
            ax.set_ylim(low, high) if view in ("side", "front") else ax.set_ylim(*lim)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"{f / fps:.2f} s", fontsize=7)
        axes[0, 0].set_ylabel(views[0], fontsize=7)
    for row, view in enumerate(views):
        axes[row, 0].set_ylabel(view, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout(pad=0.2)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return path
