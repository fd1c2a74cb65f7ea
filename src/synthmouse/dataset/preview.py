"""Look at a dataset: a contact sheet of labelled frames and an overlay video, skeleton drawn on the images.

Drawn from the per-frame label rows (the same numbers every exporter writes): filled dots are visible
keypoints, rings are keypoints inside the image but occluded; keypoints outside the image are not drawn.
"""

from __future__ import annotations

import colorsys
import math
from pathlib import Path

import cv2
import numpy as np

from ..errors import OutputError
from ..fileio import atomic_path
from .layout import PREVIEW_DIR
from .rows import CameraRow, RowStore
from .table import open_dataset

SHIFT = 4  # cv2 fixed-point bits for sub-pixel drawing
MIN_TILE_WIDTH = 240


def part_colours(n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct RGB colours (a rainbow, as DeepLabCut's default colormap)."""
    return [tuple(int(255 * c) for c in colorsys.hsv_to_rgb(0.83 * k / max(n - 1, 1), 0.9, 1.0)) for k in range(n)]


def draw_labels(
    rgb: np.ndarray, view: CameraRow, edges: list[tuple[str, str]], bodyparts: tuple[str, ...], scale: float = 1.0
) -> np.ndarray:
    """Return a copy of ``rgb`` upscaled by ``scale`` with the skeleton and keypoints of ``view`` drawn on it.

    Pixel centres map as ``(x + 0.5) * scale - 0.5`` so labels stay on the pixels they mark.
    """
    h, w = rgb.shape[:2]
    size = (round(w * scale), round(h * scale))
    out = cv2.resize(rgb, size, interpolation=cv2.INTER_NEAREST) if scale != 1 else rgb.copy()
    out = np.ascontiguousarray(out)
    colours = dict(zip(bodyparts, part_colours(len(bodyparts)), strict=True))
    index = {n: k for k, n in enumerate(view.names)}
    pts = (view.xy + 0.5) * scale - 0.5
    fixed = np.nan_to_num(pts * (1 << SHIFT)).round().astype(np.int64)
    radius = max(2, round(2.5 * max(scale, 1) ** 0.5 * max(w, h) / 320 + 1))
    thickness = max(1, radius // 2)
    for a, b in edges:
        if a in index and b in index and view.in_image[index[a]] and view.in_image[index[b]]:
            pa, pb = fixed[index[a]], fixed[index[b]]
            cv2.line(
                out, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), (235, 235, 235), thickness, cv2.LINE_AA, SHIFT
            )
    for k, name in enumerate(view.names):
        if not view.in_image[k]:
            continue
        centre = (int(fixed[k, 0]), int(fixed[k, 1]))
        fill = -1 if view.visible[k] else thickness
        cv2.circle(out, centre, radius << SHIFT, colours.get(name, (255, 255, 255)), fill, cv2.LINE_AA, SHIFT)
    return out


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OutputError(f"{path}: cannot read image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def contact_sheet(root: str | Path, n_tiles: int = 16, out: str | Path | None = None) -> Path:
    """Write a grid of ``n_tiles`` evenly spaced labelled frames (every camera side by side); return its
    path."""
    layout, identity, meta = open_dataset(root)
    store = RowStore(layout.rows_dir)
    done = sorted(store.done())
    if not done:
        raise OutputError(f"{root}: no generated frames to preview yet")
    picks = [done[round(k)] for k in np.linspace(0, len(done) - 1, min(n_tiles, len(done)))]
    tiles = []
    for i in dict.fromkeys(picks):
        row = store.read(i)
        images = []
        for view in row.views:
            scale = max(1.0, MIN_TILE_WIDTH / view.width)
            rgb = _read_rgb(layout.root / view.image)
            img = draw_labels(rgb, view, list(meta.edges), meta.bodyparts, scale)
            cv2.putText(
                img, f"{i} {view.camera}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA
            )
            images.append(img)
        tiles.append(_hstack(images))
    sheet = _grid(tiles)
    path = Path(out) if out else layout.root / PREVIEW_DIR / "contact_sheet.png"
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
            raise OutputError(f"{path}: cannot write the contact sheet")
    return path


def overlay_videos(root: str | Path, cameras: list[str] | None = None, max_frames: int | None = None) -> list[Path]:
    """Write one overlay video per camera (default: every camera of the dataset) into ``DIR/preview``; return
    their paths. An unknown camera name raises :class:`OutputError` listing the dataset's cameras."""
    _, _, meta = open_dataset(root)
    names = [c.name for c in meta.cameras]
    unknown = [c for c in cameras or () if c not in names]
    if unknown:
        raise OutputError(f"{root}: no camera {unknown[0]!r} in this dataset; its cameras: {', '.join(names)}")
    return [overlay_video(root, name, max_frames=max_frames) for name in (cameras or names)]


def overlay_video(
    root: str | Path, camera: str | None = None, out: str | Path | None = None, max_frames: int | None = None
) -> Path:
    """Write an mp4 of all generated frames of one camera (default: the first) with labels drawn; return its
    path."""
    import av

    layout, identity, meta = open_dataset(root)
    camera = camera or meta.cameras[0].name
    info = meta.camera(camera)
    store = RowStore(layout.rows_dir)
    frames = sorted(store.done())[:max_frames]
    if not frames:
        raise OutputError(f"{root}: no generated frames to preview yet")
    scale = max(1.0, MIN_TILE_WIDTH / info.width)
    width, height = _even(round(info.width * scale)), _even(round(info.height * scale))
    path = Path(out) if out else layout.root / PREVIEW_DIR / f"overlay_{camera}.mp4"
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        options = {"crf": "20", "preset": "fast"}
        stream = container.add_stream("libx264", rate=round(meta.fps), options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in frames:
            view = next(v for v in store.read(i).views if v.camera == camera)
            rgb = _read_rgb(layout.root / view.image)
            img = draw_labels(rgb, view, list(meta.edges), meta.bodyparts, scale)
            pad_h, pad_w = height - img.shape[0], width - img.shape[1]
            img = cv2.copyMakeBorder(img, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _even(n: int) -> int:
    return n + (n % 2)


def _hstack(images: list[np.ndarray]) -> np.ndarray:
    h = max(im.shape[0] for im in images)
    padded = [cv2.copyMakeBorder(im, 0, h - im.shape[0], 0, 2, cv2.BORDER_CONSTANT) for im in images]
    return np.hstack(padded)


def _grid(tiles: list[np.ndarray]) -> np.ndarray:
    cols = math.ceil(math.sqrt(len(tiles) * 1.0))
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    rows = math.ceil(len(tiles) / cols)
    sheet = np.zeros((rows * (h + 2), cols * (w + 2), 3), np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        sheet[r * (h + 2) : r * (h + 2) + tile.shape[0], c * (w + 2) : c * (w + 2) + tile.shape[1]] = tile
    return sheet
