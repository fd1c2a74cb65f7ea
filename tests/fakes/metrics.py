"""Helpers for the metrics tests: a tiny feature network and small flat open-field renders (no tests here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

OPENFIELD_SCENE = {
    "seed": 0,
    "body": {"model": "parametric", "keypoints": "dlc-topview", "fur": "black"},
    "rig": {
        "type": "openfield",
        "size": [0.45, 0.45],
        "wall_height": 0.3,
        "floor_material": "floor_white",
        "wall_material": "wall_white",
        "table": True,
    },
    "cameras": [
        {
            "name": "top",
            "width": 160,
            "height": 120,
            "fx": 140,
            "distortion": [-0.12, 0.03, 0.0, 0.0, 0.0],
            "look_at": {"eye": [0.0, 0.0, 0.62], "target": [0.0, 0.0, 0.0]},
        }
    ],
    "lights": [
        {"type": "ambient", "colour": "white", "intensity": 0.35},
        {
            "type": "spot",
            "colour": "#fff8ee",
            "intensity": 0.85,
            "position": [0.15, -0.1, 1.0],
            "target": [0, 0, 0],
            "cone_deg": 45,
            "softness": 0.4,
            "shadows": True,
        },
    ],
    "background": "#202022",
}


def tiny_extractor(seed: int = 0, features: int = 16):
    """A fixed random two-layer CNN standing in for InceptionV3: ``(B, 3, H, W) uint8 -> (B, 2 * features)``
    (channel means and maxima of the second layer)."""
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            generator = torch.Generator().manual_seed(seed)
            self.c1 = torch.nn.Conv2d(3, 8, 5, stride=2)
            self.c2 = torch.nn.Conv2d(8, features, 3, stride=2)
            with torch.no_grad():
                for conv in (self.c1, self.c2):
                    conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.3)
                    conv.bias.zero_()

        def forward(self, x):
            x = x.float() / 255.0
            x = torch.relu(self.c2(torch.relu(self.c1(x))))
            return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)

    return Tiny().eval()


def render_openfield(root: Path, frames: int, seed: int = 1, size: tuple[int, int] = (160, 120)) -> Path:
    """A small synthmouse dataset (DeepLabCut export) of flat, untextured open-field renders, top camera."""
    import json

    from synthmouse.dataset.generation import GenerateOptions, generate
    from synthmouse.dataset.scene_source import source_from_spec
    from synthmouse.scene.spec import parse_scene_spec

    data = json.loads(json.dumps(OPENFIELD_SCENE))
    data["cameras"][0]["width"], data["cameras"][0]["height"] = size
    data["cameras"][0]["fx"] = 140 * size[0] / 160
    source = source_from_spec(parse_scene_spec(data), "openfield", seed)
    try:
        generate(source, root, GenerateOptions(n_frames=frames, formats=("dlc",)))
    finally:
        source.close()
    return root


def textured_images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """``(n, size, size) uint8`` smooth random textures (intensities well inside 0..255)."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, (n, size, size)).astype(np.float32)
    smooth = np.stack([cv2.GaussianBlur(im, (0, 0), 1.5) for im in noise])
    smooth = smooth / smooth.std()
    return np.clip(110 + 25 * smooth, 0, 255).astype(np.uint8)


_RENDERS: dict[tuple, Path] = {}


def flat_renders(tmp_path_factory, frames: int = 40, seed: int = 1, size: tuple[int, int] = (160, 120)) -> Path:
    """:func:`render_openfield` once per test session for these arguments (module-level cache), so the test
    files that need renders share them."""
    key = (frames, seed, size)
    if key not in _RENDERS:
        _RENDERS[key] = render_openfield(tmp_path_factory.mktemp("flat_renders") / "ds", frames, seed, size)
    return _RENDERS[key]
