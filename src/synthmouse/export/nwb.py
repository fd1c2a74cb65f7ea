"""NWB export with ndx-pose: ``nwb/dataset.nwb`` (optional extra ``nwb``: pynwb, ndx-pose).

In the processing module ``behavior``:

* a ``Skeletons`` container with the skeleton ``mouse`` (nodes = body parts, edges 0-based);
* one ``PoseEstimation`` per camera, ``PoseEstimation_<camera>``, with one ``PoseEstimationSeries`` per body
  part: ``(N, 2)`` pixels (OpenCV convention), NaN where not visible; confidence 1 visible / 0 not;
* ``PoseEstimation_world``: the 3D ground truth, one ``(N, 3)`` series per keypoint in world metres;
* each camera is a ``Device`` (a ``CalibratedCamera`` with K, R, t and distortion when ndx-pose has that type
  and ``calibration.toml`` exists), linked from its pose estimation.

Session and subject come from the scene's ``metadata:`` section (``DatasetMeta.session_metadata``, see
:mod:`synthmouse.scene.metadata`), so that nwbinspector finds no CRITICAL issue: a ``Subject`` (id, species,
strain, sex, age -- ``unknown`` written as the open ISO 8601 range ``P0D/``, description), the session start
time, session id, session and experiment descriptions, keywords, and experimenter / lab / institution when the
scene gives them.

The file is made reproducible: the session start time is the scene's (a fixed default, never the clock) and the
file creation date is set to it, the identifier is derived from the scene hash and seed, and object ids are
derived from each object's path instead of random UUIDs.
"""

from __future__ import annotations

import tomllib
import uuid
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from .. import __version__
from ..dataset.exporters import missing_modules
from ..dataset.table import Dataset
from ..fileio import atomic_path
from ..scene.metadata import nwb_age

FOLDER = "nwb"
ID_NAMESPACE = uuid.UUID("6f1f2a52-5c55-4bb8-9d43-0c2b4a1f7e51")


class NwbExporter:
    name = "nwb"
    description = "NWB with ndx-pose"

    def missing(self) -> str | None:
        absent = missing_modules("pynwb", "ndx_pose")
        if absent:
            return f"install the 'nwb' extra ('pip install synthmouse[nwb]'; missing: {', '.join(absent)})"
        return None

    def export(self, dataset: Dataset) -> list[Path]:
        from pynwb import NWBHDF5IO

        nwbfile = build_nwbfile(dataset)
        path = dataset.root / FOLDER / "dataset.nwb"
        with atomic_path(path) as tmp, NWBHDF5IO(str(tmp), mode="w") as io:
            io.write(nwbfile)
        return [path]


def build_nwbfile(dataset: Dataset):
    """The in-memory ``pynwb.NWBFile`` of a dataset."""
    import ndx_pose
    from pynwb import NWBFile

    meta, identity, table = dataset.meta, dataset.identity, dataset.table
    session = meta.session_metadata
    start = datetime.fromisoformat(session["session_start_time"])
    optional = {k: session[k] for k in ("lab", "institution") if session.get(k)}
    if session.get("experimenter"):
        optional["experimenter"] = list(session["experimenter"])
    nwbfile = NWBFile(
        session_description=session.get("description")
        or f"synthmouse dataset of scene {meta.scene_name!r}, seed {identity.seed}",
        identifier=f"synthmouse-{identity.scene_hash[:16]}-seed{identity.seed}-n{identity.n_frames}",
        session_start_time=start,
        file_create_date=[start],
        session_id=session.get("session_id") or f"{meta.scene_name}-seed{identity.seed}".replace("/", "-"),
        experiment_description=session.get("experiment_description") or _experiment_description(dataset),
        keywords=list(session.get("keywords") or []) or None,
        source_script=f"synthmouse {__version__}",
        source_script_file_name="synthmouse",
        subject=_subject(session["subject"]),
        **optional,
    )
    behavior = nwbfile.create_processing_module("behavior", "synthetic ground-truth poses from synthmouse")
    skeleton = ndx_pose.Skeleton(
        name="mouse",
        nodes=list(meta.bodyparts),
        edges=np.asarray(meta.edge_indices, dtype=np.uint8).reshape(-1, 2),
    )
    behavior.add(ndx_pose.Skeletons(skeletons=[skeleton]))
    calibration = _read_calibration(dataset.layout.calibration)
    for c, cam in enumerate(meta.cameras):
        device = _camera_device(nwbfile, cam.name, calibration.get(cam.name))
        visible = table.visible[:, c]
        xy = np.where(visible[..., None], table.xy[:, c], np.nan)
        series = [
            ndx_pose.PoseEstimationSeries(
                name=part,
                description=f"{part} in camera {cam.name}",
                data=xy[:, b],
                unit="pixels",
                reference_frame="image pixels, OpenCV convention: (0, 0) is the centre of the top-left pixel",
                rate=float(meta.fps),
                starting_time=0.0,
                confidence=visible[:, b].astype(np.float64),
                confidence_definition="1: visible (inside the image, not occluded); 0: occluded or outside",
            )
            for b, part in enumerate(meta.bodyparts)
        ]
        behavior.add(
            _pose_estimation(
                ndx_pose,
                f"PoseEstimation_{cam.name}",
                series,
                skeleton,
                device,
                f"exact 2D ground truth rendered for camera {cam.name} ({cam.width} x {cam.height} px)",
            )
        )
    world = [
        ndx_pose.PoseEstimationSeries(
            name=name,
            description=f"{name} in world coordinates",
            data=table.keypoints3d[:, k],
            unit="meters",
            reference_frame="world: right-handed, z up, metres (the scene's frame)",
            rate=float(meta.fps),
            starting_time=0.0,
            confidence=np.ones(dataset.n_frames),
            confidence_definition="always 1 (exact ground truth)",
        )
        for k, name in enumerate(meta.keypoint_names)
    ]
    skeleton3d = skeleton
    if tuple(meta.keypoint_names) != tuple(meta.bodyparts):
        skeleton3d = ndx_pose.Skeleton(
            name="mouse_3d", nodes=list(meta.keypoint_names), edges=np.zeros((0, 2), dtype=np.uint8)
        )
        behavior["Skeletons"].add_skeletons(skeleton3d)
    behavior.add(
        _pose_estimation(
            ndx_pose,
            "PoseEstimation_world",
            world,
            skeleton3d,
            None,
            "exact 3D ground-truth keypoints in world coordinates",
        )
    )
    _deterministic_object_ids(nwbfile)
    return nwbfile


def _subject(subject: dict):
    """The NWB ``Subject`` of the resolved scene subject (``unknown`` age as the open range ``P0D/``)."""
    from pynwb.file import Subject

    return Subject(
        subject_id=subject["subject_id"],
        species=subject["species"],
        strain=subject["strain"],
        sex=subject["sex"],
        age=nwb_age(subject["age"]),
        description=subject["description"],
    )


def _experiment_description(dataset: Dataset) -> str:
    meta = dataset.meta
    extra = meta.extra
    parts = [f"{k.replace('_', ' ')} {extra[k]}" for k in ("body", "keypoint_set", "rig") if extra.get(k)]
    cams = ", ".join(f"{c.name} ({c.width} x {c.height} px)" for c in meta.cameras)
    return (
        f"Synthetic pose-estimation ground truth rendered by synthmouse {__version__} from scene "
        f"{meta.scene_name!r} ({'; '.join(parts) or 'no provenance recorded'}); cameras: {cams}; "
        f"{dataset.identity.n_frames} frames at {meta.fps:g} fps. Every label is exact (projected from the "
        "rendered 3D model), not annotated by hand."
    )


def _pose_estimation(ndx_pose, name, series, skeleton, device, description):
    kwargs = dict(
        name=name,
        pose_estimation_series=series,
        description=description,
        scorer="synthmouse",
        source_software="synthmouse",
        source_software_version=__version__,
        skeleton=skeleton,
    )
    if device is not None:
        kwargs["device"] = device
    try:
        return ndx_pose.PoseEstimation(**kwargs)
    except TypeError:  # ndx-pose < 0.4 takes a list of devices
        if "device" in kwargs:
            kwargs["devices"] = [kwargs.pop("device")]
        return ndx_pose.PoseEstimation(**kwargs)


def _camera_device(nwbfile, name: str, calib: dict | None):
    """A ``CalibratedCamera`` (or plain ``Device``) added to the file."""
    import ndx_pose

    description = f"synthetic camera {name}"
    if calib is not None and hasattr(ndx_pose, "CalibratedCamera"):
        device = ndx_pose.CalibratedCamera(
            name=name,
            description=description,
            intrinsic_matrix=calib["K"],
            rotation_matrix=calib["R"],
            translation_vector=calib["t"],
            distortion_coefficients=calib["dist"],
        )
        nwbfile.add_device(device)
        return device
    return nwbfile.create_device(name=name, description=description)


def _read_calibration(path: Path) -> dict[str, dict]:
    """Cameras of an Anipose ``calibration.toml``: name -> K, R, t, dist (empty when the file is absent)."""
    if not path.is_file():
        return {}
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    out = {}
    for key, cam in data.items():
        if not (isinstance(cam, dict) and key.startswith("cam_")):
            continue
        rvec = np.asarray(cam["rotation"], dtype=np.float64).reshape(3, 1)
        out[str(cam["name"])] = {
            "K": np.asarray(cam["matrix"], dtype=np.float64),
            "R": cv2.Rodrigues(rvec)[0],
            "t": np.asarray(cam["translation"], dtype=np.float64),
            "dist": np.asarray(cam["distortions"], dtype=np.float64),
        }
    return out


def _deterministic_object_ids(nwbfile) -> None:
    """Replace hdmf's random object UUIDs by UUIDs derived from each object's path in the file.

    hdmf draws ``uuid4`` ids at construction and offers no seed; the id lives in the container's private
    ``__object_id`` slot (``AbstractContainer``). If a future hdmf renames it, ids stay random (only the byte
    identity of the .nwb file is lost, not its content).
    """
    slot = "_AbstractContainer__object_id"
    for obj in nwbfile.all_children():
        if not hasattr(obj, slot):
            return
        path = []
        node = obj
        while node is not None:
            path.append(f"{type(node).__name__}:{node.name}")
            node = node.parent
        setattr(obj, slot, str(uuid.uuid5(ID_NAMESPACE, "/".join(reversed(path)))))
