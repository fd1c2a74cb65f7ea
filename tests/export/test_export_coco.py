"""COCO export: loaded with pycocotools; keypoints, visibility flags, boxes, areas and masks checked; keypoint
evaluation with pycocotools' COCOeval and the shipped OKS sigmas."""

from __future__ import annotations

import contextlib
import io
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import yaml

from fakes.dataset import EDGES, NAMES, FakeSource, make_dataset

pycocotools_coco = pytest.importorskip("pycocotools.coco")
mask_utils = pytest.importorskip("pycocotools.mask")
cocoeval = pytest.importorskip("pycocotools.cocoeval")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools

SEED, FRAMES = 11, 12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("coco") / "ds", frames=FRAMES, seed=SEED, formats=("coco",))


@pytest.fixture(scope="module")
def coco(dataset):
    return pycocotools_coco.COCO(str(dataset / "coco" / "annotations.json"))


def test_coco_category_keypoints_and_one_based_skeleton(coco):
    (cat,) = coco.loadCats(coco.getCatIds(catNms=["mouse"]))
    assert cat["keypoints"] == list(NAMES)
    expected = {(NAMES.index(a) + 1, NAMES.index(b) + 1) for a, b in EDGES}
    assert {tuple(e) for e in cat["skeleton"]} == expected
    assert min(min(e) for e in cat["skeleton"]) >= 1


def test_coco_category_ships_one_oks_sigma_per_keypoint_from_the_data_file(coco):
    """The fake names get the kinds data/oks_sigmas.yaml documents for them (read here, not the code's table)."""
    (cat,) = coco.loadCats(coco.getCatIds(catNms=["mouse"]))
    kinds = yaml.safe_load(resources.files("synthmouse").joinpath("data/oks_sigmas.yaml").read_text())["kinds"]
    expected = {"nose": "nose", "left_ear": "ear", "right_ear": "ear", "tail_root": "tail_base", "tail_end": "tail_tip"}
    assert len(cat["kpt_oks_sigmas"]) == len(cat["keypoints"])
    assert cat["kpt_oks_sigmas"] == [kinds[expected[n]] for n in cat["keypoints"]]


def test_coco_annotations_match_rendered_frames(dataset, coco):
    source = FakeSource(seed=SEED)
    flags_seen = set()
    assert len(coco.getImgIds()) == 2 * FRAMES
    for image_id in coco.getImgIds():
        (img,) = coco.loadImgs(image_id)
        assert (dataset / img["file_name"]).is_file()
        cam = ("top", "side").index(img["camera"])
        view = source.render(img["frame_index"]).views[cam]
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        h, w = view.mask.shape
        inside = (
            (view.keypoints[:, 0] >= -0.5)
            & (view.keypoints[:, 0] < w - 0.5)
            & (view.keypoints[:, 1] >= -0.5)
            & (view.keypoints[:, 1] < h - 0.5)
        )
        expect_v = np.where(view.visible & inside, 2, np.where(inside, 1, 0))
        np.testing.assert_array_equal(kp[:, 2], expect_v)
        np.testing.assert_array_equal(kp[inside, :2], view.keypoints[inside])
        np.testing.assert_array_equal(kp[~inside, :2], 0)
        assert ann["num_keypoints"] == int(inside.sum())
        flags_seen |= set(expect_v.tolist())
        # mask and area against pycocotools' own computations on the rendered mask
        rle = mask_utils.encode(np.asfortranarray(view.mask.astype(np.uint8)))
        np.testing.assert_array_equal(coco.annToMask(ann), view.mask.astype(np.uint8))
        assert ann["area"] == int(mask_utils.area(rle)) == int(view.mask.sum())
        # the box holds the mask's box and every labelled keypoint, read as continuous coordinates (mmpose) and
        # as pixel indices + 0.5 (detectron2), inside the image, and is at most one pixel larger than needed
        x, y, bw, bh = ann["bbox"]
        mx, my, mw, mh = mask_utils.toBbox(rle)
        assert x <= mx and y <= my and x + bw >= mx + mw and y + bh >= my + mh
        assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h
        labelled = kp[kp[:, 2] > 0, :2]
        for px, py in np.concatenate([labelled, labelled + 0.5]):
            if 0 <= px <= w and 0 <= py <= h:
                assert x <= px <= x + bw and y <= py <= y + bh, (ann["bbox"], px, py)
        need = np.array([[mx, my], [mx + mw, my + mh], *labelled, *(labelled + 0.5)])
        need = np.clip(need, 0, [w, h])
        assert x >= np.floor(need[:, 0].min()) - 1 and y >= np.floor(need[:, 1].min()) - 1
        assert x + bw <= np.ceil(need[:, 0].max()) + 1 and y + bh <= np.ceil(need[:, 1].max()) + 1
    assert flags_seen == {0, 1, 2}


def _keypoint_eval(coco, detections):
    """pycocotools' keypoint COCOeval of ``detections`` with the category's shipped sigmas (output muted)."""
    (cat,) = coco.loadCats(coco.getCatIds(catNms=["mouse"]))
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco.loadRes(detections)
        ev = cocoeval.COCOeval(coco, dt, "keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(cat["kpt_oks_sigmas"], dtype=np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev, np.asarray(cat["kpt_oks_sigmas"])


def test_cocoeval_with_shipped_sigmas_scores_ground_truth_as_perfect(coco):
    anns = coco.loadAnns(coco.getAnnIds())
    dets = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
        for a in anns
    ]
    ev, _ = _keypoint_eval(coco, dets)
    assert ev.stats[0] == pytest.approx(1.0)  # AP @ OKS .50:.95
    assert ev.stats[5] == pytest.approx(1.0)  # AR


def test_cocoeval_oks_of_perturbed_predictions_follows_the_per_keypoint_sigmas(coco):
    """Every labelled keypoint is moved by d_k = 2 sigma_k sqrt(2 t area) so that COCO's per-keypoint similarity
    exp(-d^2 / (2 area (2 sigma_k)^2)) is exp(-t): OKS = exp(-t) whatever the keypoint, but only if pycocotools
    applies each shipped sigma to its own keypoint. With OKS 0.72, 5 of the 10 thresholds .50:.95 are met."""
    t = -np.log(0.72)
    anns = [a for a in coco.loadAnns(coco.getAnnIds()) if a["area"] > 0 and a["num_keypoints"] > 0]
    (cat,) = coco.loadCats(coco.getCatIds(catNms=["mouse"]))
    sigmas = np.asarray(cat["kpt_oks_sigmas"])
    dets = []
    for a in anns:
        kp = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)
        shift = 2 * sigmas * np.sqrt(2 * t * a["area"])
        moved = kp.copy()
        moved[:, 0] += np.where(kp[:, 2] > 0, shift, 0.0)
        moved[:, 2] = np.where(kp[:, 2] > 0, 2, 0)
        dets.append(
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "keypoints": moved.ravel().tolist(),
                "score": 1.0,
            }
        )
    ev, _ = _keypoint_eval(coco, dets)
    for a in anns:
        oks = ev.ious[(a["image_id"], a["category_id"])]
        np.testing.assert_allclose(oks, [[0.72]], rtol=1e-6)
    assert ev.stats[0] == pytest.approx(0.5)
    # a sigma list in another order gives other similarities: the shipped order is the keypoints' order
    ev_wrong, _ = _keypoint_eval(coco, dets)
    ev_wrong.params.kpt_oks_sigmas = sigmas[::-1].copy()
    with contextlib.redirect_stdout(io.StringIO()):
        ev_wrong.evaluate()
    assert not all(np.allclose(ev_wrong.ious[(a["image_id"], 1)], 0.72, rtol=1e-3) for a in anns)


def test_coco_split_files_partition_images(dataset):
    splits = json.loads((dataset / "splits.json").read_text())
    ids = []
    for name in ("train", "val", "test"):
        split = pycocotools_coco.COCO(str(dataset / "coco" / f"{name}.json"))
        frames = sorted({img["frame_index"] for img in split.loadImgs(split.getImgIds())})
        assert frames == splits["frames"][name]
        assert all(split.loadImgs(a["image_id"]) for a in split.loadAnns(split.getAnnIds()))
        ids += split.getImgIds()
    assert sorted(ids) == list(range(1, 2 * FRAMES + 1))
