"""What a dataset is made of, independent of any frame: cameras, keypoints, skeleton edges, provenance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import SynthmouseError
from ..scene.metadata import default_oks_sigma, default_session_metadata

LABEL_IMAGES = ("depth", "mask", "parts")  # per-camera ground-truth images a dataset can hold, in file order


@dataclass(frozen=True)
class CameraInfo:
    """One camera of the dataset: its name (used in folder names), image size and keypoint names."""

    name: str
    width: int
    height: int
    keypoint_names: tuple[str, ...]


@dataclass(frozen=True)
class DatasetMeta:
    """Frame-independent description of a dataset.

    Attributes:
        scene_name: short name of the scene (used as the DeepLabCut task name).
        scene_hash: sha256 hex digest identifying the scene (a dataset is a function of scene, seed and
        version). cameras: the cameras, in a fixed order.
        keypoint_names: ``K`` names of the 3D keypoints (``FrameResult.keypoint_names``).
        edges: skeleton edges as pairs of keypoint names (over the union of all camera keypoint names).
        fps: frame rate of the generated sequence (frames per second).
        extra: free-form provenance (body model, keypoint set, rig ...); JSON-serializable values only.
        label_images: per-camera ground-truth images written beside every frame, a subset of
            :data:`LABEL_IMAGES` (the scene's ``outputs.ground_truth``): ``depth`` (16-bit millimetres),
            ``mask`` (8-bit, 255 on the mouse), ``parts`` (8-bit body-part ids).
        session: the session and subject the dataset describes (the scene's ``metadata:`` section resolved by
            :func:`synthmouse.scene.metadata.session_metadata`); empty: the defaults
            (:attr:`session_metadata`).
        oks_sigmas: COCO OKS sigma per body part (:func:`synthmouse.scene.metadata.keypoint_oks_sigmas`); names
            left out take the default of ``data/oks_sigmas.yaml`` (:attr:`kpt_oks_sigmas`).
        rig_keypoints: the body parts that are keypoints on rig objects (a joystick, a lever; their mirror-view
            names too), a class of their own for pose training; empty (and not written) without rig objects.
    """

    scene_name: str
    scene_hash: str
    cameras: tuple[CameraInfo, ...]
    keypoint_names: tuple[str, ...]
    edges: tuple[tuple[str, str], ...] = ()
    fps: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)
    label_images: tuple[str, ...] = ()
    session: dict[str, Any] = field(default_factory=dict)
    oks_sigmas: dict[str, float] = field(default_factory=dict)
    rig_keypoints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.label_images) - set(LABEL_IMAGES))
        if unknown:
            raise SynthmouseError(
                f"scene {self.scene_name!r}: unknown ground-truth image(s) {unknown}; "
                f"allowed: {', '.join(LABEL_IMAGES)}"
            )
        object.__setattr__(self, "label_images", tuple(k for k in LABEL_IMAGES if k in self.label_images))
        names = [c.name for c in self.cameras]
        if not names:
            raise SynthmouseError(f"scene {self.scene_name!r}: a dataset needs at least one camera")
        if len(set(names)) != len(names):
            raise SynthmouseError(f"scene {self.scene_name!r}: camera names must be unique, got {names}")
        known = set(self.bodyparts)
        stray = sorted(set(self.oks_sigmas) - known)
        if stray:
            raise SynthmouseError(
                f"scene {self.scene_name!r}: OKS sigmas for {stray}, which no camera labels; body parts: "
                f"{', '.join(self.bodyparts)}"
            )
        object.__setattr__(self, "rig_keypoints", tuple(self.rig_keypoints))
        unlabelled = sorted(set(self.rig_keypoints) - known)
        if unlabelled:
            raise SynthmouseError(
                f"scene {self.scene_name!r}: rig keypoints {unlabelled} are labelled by no camera; body parts: "
                f"{', '.join(self.bodyparts)}"
            )
        for a, b in self.edges:
            if a not in known or b not in known:
                raise SynthmouseError(
                    f"scene {self.scene_name!r}: skeleton edge ({a}, {b}) names a keypoint that no camera labels"
                )

    @property
    def bodyparts(self) -> tuple[str, ...]:
        """Ordered union of the keypoint names of all cameras (the columns of every 2D label table)."""
        seen: dict[str, None] = {}
        for cam in self.cameras:
            for name in cam.keypoint_names:
                seen.setdefault(name, None)
        return tuple(seen)

    @property
    def session_metadata(self) -> dict[str, Any]:
        """The session metadata (:attr:`session`, or the defaults when the source gave none)."""
        if self.session:
            return self.session
        return default_session_metadata()

    @property
    def kpt_oks_sigmas(self) -> tuple[float, ...]:
        """OKS sigma of every body part, in :attr:`bodyparts` order (COCO ``kpt_oks_sigmas``)."""
        return tuple(
            float(self.oks_sigmas[n]) if n in self.oks_sigmas else default_oks_sigma(n) for n in self.bodyparts
        )

    @property
    def edge_indices(self) -> list[tuple[int, int]]:
        """Skeleton edges as 0-based indices into :attr:`bodyparts`."""
        index = {n: i for i, n in enumerate(self.bodyparts)}
        return [(index[a], index[b]) for a, b in self.edges]

    def camera(self, name: str) -> CameraInfo:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise SynthmouseError(f"unknown camera {name!r}; cameras: {[c.name for c in self.cameras]}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict (inverse: :meth:`from_json`)."""
        out = asdict(self)
        out["cameras"] = [asdict(c) for c in self.cameras]
        out["edges"] = [list(e) for e in self.edges]
        out["label_images"] = list(self.label_images)
        if self.rig_keypoints:
            out["rig_keypoints"] = list(self.rig_keypoints)
        else:  # datasets without rig objects keep the bytes they had before rig objects existed
            del out["rig_keypoints"]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatasetMeta:
        cams = tuple(
            CameraInfo(c["name"], int(c["width"]), int(c["height"]), tuple(c["keypoint_names"]))
            for c in data["cameras"]
        )
        return cls(
            scene_name=data["scene_name"],
            scene_hash=data["scene_hash"],
            cameras=cams,
            keypoint_names=tuple(data["keypoint_names"]),
            edges=tuple((a, b) for a, b in data.get("edges", [])),
            fps=float(data.get("fps", 30.0)),
            extra=dict(data.get("extra", {})),
            label_images=tuple(data.get("label_images", ())),
            session=dict(data.get("session", {})),
            oks_sigmas={str(k): float(v) for k, v in data.get("oks_sigmas", {}).items()},
            rig_keypoints=tuple(data.get("rig_keypoints", ())),
        )
