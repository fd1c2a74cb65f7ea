"""From the training data and the user's options to a model config and its augmentation: the view of the cameras,
the views of an image, the flip pairs and the rig keypoints (shared by ``train`` and ``benchmark-sim2real``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .labels import parse_flip_pairs
from .model import PoseConfig
from .train import Source, config_flip_pairs, default_config
from .views import (
    Augmentation,
    augmentation_for,
    common_view,
    dataset_rig_keypoints,
    dataset_view_kinds,
    parse_views,
    suffix_views,
    view_regions,
)


@dataclass(frozen=True)
class PoseSettings:
    """The user's choices for a model (``train`` / ``benchmark-sim2real`` options); None: chosen from the data."""

    crop_size: int = 128
    rotation: float | None = None
    scale: tuple[float, float] | None = None
    flip: bool | None = None
    views: tuple[str, ...] = ()
    flip_pairs: tuple[str, ...] = ()
    rig_keypoints: tuple[str, ...] | None = None
    backbone: str = "unet"


def dataset_folder(dataset: str | Path) -> Path:
    """The folder of a dataset (itself, or the folder of a label file)."""
    path = Path(dataset)
    return path if path.is_dir() else path.parent


def camera_view(dataset: str | Path) -> str | None:
    """The view kind of a synthetic dataset's cameras (:func:`synthmouse.pose.views.dataset_view_kinds`; the most
    restrictive of a mix), None when it has no calibration."""
    return common_view(list(dataset_view_kinds(dataset_folder(dataset)).values()))


def plan_config(
    sources: Sequence[Source], dataset: str | Path, settings: PoseSettings, pretrained: bool = True, **overrides
) -> PoseConfig:
    """The model config for ``sources`` (the first one from ``dataset``): views of an image, rig keypoints
    (``settings`` or the dataset's metadata), flip pairs, crop size and the augmentation for the dataset's
    camera view with the settings' overrides, recorded in the config (``config.augment``)."""
    names = sources[0].data.names
    specs = parse_views(settings.views)
    regions = view_regions(sources[0].data, specs) if specs else ()
    rig = settings.rig_keypoints
    if rig is None:
        rig = dataset_rig_keypoints(dataset_folder(dataset))
    config = default_config(
        sources,
        backbone=settings.backbone,
        crop_size=settings.crop_size,
        pretrained=pretrained,
        flip_pairs=parse_flip_pairs(settings.flip_pairs),
        rig_keypoints=[n for n in rig if n in names],
        views=regions,
        **overrides,
    )
    augmentation = augmentation_for(
        camera_view(dataset), bool(config_flip_pairs(config)), settings.rotation, settings.scale, settings.flip
    )
    return dataclasses.replace(config, augment=augmentation.to_dict())


def config_augmentation(config: PoseConfig) -> Augmentation:
    """The augmentation recorded in ``config`` (the top-view default for a config without one)."""
    a = config.augment or {}
    if not a:
        return Augmentation()
    return Augmentation(
        rotation_deg=float(a["rotation_deg"]),
        scale_range=tuple(float(v) for v in a["scale_range"]),  # type: ignore[arg-type]
        flip=bool(a["flip"]),
        view=str(a.get("view", "unknown")),
        chosen_by=str(a.get("chosen_by", "default")),
    )


def plan_lines(config: PoseConfig) -> list[str]:
    """What was chosen, to print: augmentation, flip pairs, views and rig keypoints."""
    augmentation = config_augmentation(config)
    lines = [f"augmentation: {augmentation.describe()}"]
    if augmentation.chosen_by == "default":
        lines[0] += " (camera view unknown; for a side view give --rotation 15)"
    pairs = config_flip_pairs(config)
    text = ", ".join(f"{a}<->{b}" for a, b in pairs) if pairs else "none"
    lines.append(f"flip pairs: {text}" + ("" if augmentation.flip else " (flips off)"))
    for region in config.regions:
        box = "x0,y0,x1,y1 = " + ",".join(map(str, region.box)) if region.box else "whole image"
        lines.append(f"view {region.name}: {box}; keypoints {', '.join(n for n, _ in region.channels)}")
    if config.rig_keypoints:
        lines.append(f"rig keypoints (never flip-swapped): {', '.join(config.rig_keypoints)}")
    return lines


def views_hint(names: Sequence[str], settings: PoseSettings) -> str | None:
    """A hint when the keypoint names show several views of one image but no ``--views`` was given."""
    if settings.views:
        return None
    groups = suffix_views(names)
    if len(groups) < 2:
        return None
    return (
        f"the keypoint names show {len(groups)} views ({', '.join(groups)}); --views auto crops and trains each "
        "view on its own (docs/pose.md)"
    )
