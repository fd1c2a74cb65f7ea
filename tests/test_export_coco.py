"""COCO export: loaded with pycocotools; keypoints, visibility flags, boxes, areas and masks checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from test_dataset_fakes import EDGES, NAMES, FakeSource, make_dataset

pycocotools_coco = pytest.importorskip("pycocotools.coco")
mask_utils = pytest.importorskip("pycocotools.mask")

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
        inside = (view.keypoints[:, 0] >= -0.5) & (view.keypoints[:, 0] < w - 0.5) \
            & (view.keypoints[:, 1] >= -0.5) & (view.keypoints[:, 1] < h - 0.5)
        expect_v = np.where(view.visible & inside, 2, np.where(inside, 1, 0))
        np.testing.assert_array_equal(kp[:, 2], expect_v)
        np.testing.assert_array_equal(kp[inside, :2], view.keypoints[inside])
        np.testing.assert_array_equal(kp[~inside, :2], 0)
        assert ann["num_keypoints"] == int(inside.sum())
        flags_seen |= set(expect_v.tolist())
        # mask, box and area against pycocotools' own computations on the rendered mask
        rle = mask_utils.encode(np.asfortranarray(view.mask.astype(np.uint8)))
        np.testing.assert_array_equal(coco.annToMask(ann), view.mask.astype(np.uint8))
        np.testing.assert_allclose(ann["bbox"], mask_utils.toBbox(rle))
        assert ann["area"] == int(mask_utils.area(rle)) == int(view.mask.sum())
    assert flags_seen == {0, 1, 2}


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
