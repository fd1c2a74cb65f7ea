"""Heatmap networks: a compact U-Net (default, fast on CPU) or a torchvision ResNet-18 trunk with a small
decoder. Both take ``(B, 1, H, W)`` grayscale images (H, W multiples of 16) and return ``(B, K, H/2, W/2)``
heatmap logits-free maps (trained towards Gaussians of peak 1) at output stride 2.

ImageNet weights for the ResNet trunk are used only when already on disk (torchvision's cache,
``$TORCH_HOME/hub/checkpoints``): nothing is ever downloaded here.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import SynthmouseError

OUTPUT_STRIDE = 2
BACKBONES = ("unet", "resnet18")


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Down(nn.Module):
    """Stride-2 conv then a residual 3x3 pair."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.down = _conv(cin, cout, 2)
        self.body = nn.Sequential(_conv(cout, cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        return F.relu(x + self.body(x))


class _Up(nn.Module):
    """Bilinear x2 upsampling, concatenation with the skip, one 3x3 conv."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.conv = _conv(cin + cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([x, skip], dim=1))


class CompactUNet(nn.Module):
    """Encoder at strides 2..16 (``width`` x 1, 2, 4, 6 channels), decoder back to stride 2."""

    def __init__(self, n_keypoints: int, width: int = 16):
        super().__init__()
        w = [width, 2 * width, 4 * width, 6 * width]
        self.stem = nn.Sequential(_conv(1, w[0], 2), _conv(w[0], w[0]))  # stride 2
        self.d1, self.d2, self.d3 = _Down(w[0], w[1]), _Down(w[1], w[2]), _Down(w[2], w[3])  # 4, 8, 16
        self.context = nn.Sequential(
            nn.Conv2d(w[3], w[3], 3, 1, 2, dilation=2, bias=False), nn.BatchNorm2d(w[3]), nn.ReLU(inplace=True)
        )
        self.u3, self.u2, self.u1 = _Up(w[3], w[2], w[2]), _Up(w[2], w[1], w[1]), _Up(w[1], w[0], w[0])
        self.head = nn.Conv2d(w[0], n_keypoints, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s2 = self.stem(x)
        s4 = self.d1(s2)
        s8 = self.d2(s4)
        s16 = self.context(self.d3(s8))
        y = self.u1(self.u2(self.u3(s16, s8), s4), s2)
        return self.head(y)


class ResNetHeatmap(nn.Module):
    """torchvision ResNet-18 up to layer3 (stride 16), decoder with skips from layer2, layer1 and conv1."""

    def __init__(self, n_keypoints: int, pretrained: bool = True):
        super().__init__()
        from torchvision.models import resnet18

        trunk = resnet18(weights=None)
        if pretrained:
            load_imagenet_weights(trunk)
        # grayscale input: the RGB filters summed (exact for a gray image replicated over 3 channels)
        conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        with torch.no_grad():
            conv1.weight.copy_(trunk.conv1.weight.sum(dim=1, keepdim=True))
        self.stem = nn.Sequential(conv1, trunk.bn1, trunk.relu)  # stride 2
        self.pool = trunk.maxpool
        self.layer1, self.layer2, self.layer3 = trunk.layer1, trunk.layer2, trunk.layer3  # 4, 8, 16
        self.u3, self.u2, self.u1 = _Up(256, 128, 128), _Up(128, 64, 64), _Up(64, 64, 32)
        self.head = nn.Conv2d(32, n_keypoints, 1)
        self.pretrained = pretrained

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s2 = self.stem(x)
        s4 = self.layer1(self.pool(s2))
        s8 = self.layer2(s4)
        s16 = self.layer3(s8)
        return self.head(self.u1(self.u2(self.u3(s16, s8), s4), s2))


def imagenet_weights_path(name: str = "resnet18") -> Path | None:
    """The torchvision ImageNet checkpoint of ``name`` if it is already in torchvision's cache, else None."""
    from torchvision.models import ResNet18_Weights

    urls = {"resnet18": ResNet18_Weights.IMAGENET1K_V1.url}
    file = Path(torch.hub.get_dir()) / "checkpoints" / Path(urls[name]).name
    return file if file.is_file() else None


def load_imagenet_weights(module: nn.Module, name: str = "resnet18") -> bool:
    """Load cached ImageNet weights into ``module`` (True) or leave it randomly initialised (False)."""
    path = imagenet_weights_path(name)
    if path is None:
        return False
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return True


def build_network(backbone: str, n_keypoints: int, width: int = 16, pretrained: bool = True) -> nn.Module:
    """A heatmap network (see the module docstring)."""
    if backbone == "unet":
        return CompactUNet(n_keypoints, width)
    if backbone == "resnet18":
        return ResNetHeatmap(n_keypoints, pretrained)
    raise SynthmouseError(f"backbone {backbone!r} is not known; allowed: {', '.join(BACKBONES)}")
