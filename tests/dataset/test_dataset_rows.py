"""Per-frame label rows: masks as COCO RLE (checked with pycocotools), boxes, in-image test, JSON round
trip."""

from __future__ import annotations

import numpy as np
import pytest

from fakes.dataset import FakeSource
from synthmouse.dataset.rows import (
    RowStore,
    camera_row,
    frame_row,
    keypoints_in_image,
    mask_bbox,
    mask_to_rle,
    rle_to_mask,
    row_to_json,
)

mask_utils = pytest.importorskip("pycocotools.mask")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools


@pytest.mark.parametrize("seed", range(5))
def test_rle_bbox_area_agree_with_pycocotools(seed):
    rng = np.random.default_rng(seed)
    mask = rng.uniform(size=(13, 17)) > 0.6
    if seed == 0:
        mask[:] = False
    if seed == 1:
        mask[0, 0] = True  # runs start with a foreground pixel
    rle = mask_to_rle(mask)
    coco = mask_utils.frPyObjects({"counts": rle, "size": [13, 17]}, 13, 17)
    np.testing.assert_array_equal(mask_utils.decode(coco).astype(bool), mask)
    np.testing.assert_array_equal(rle_to_mask(rle, 13, 17), mask)
    bbox, area = mask_bbox(mask)
    assert area == int(mask_utils.area(coco))
    np.testing.assert_allclose(bbox, mask_utils.toBbox(coco))


def test_in_image_uses_pixel_centre_convention():
    xy = np.array([[-0.5, 0.0], [-0.5001, 0.0], [9.4999, 4.4999], [9.5, 0.0], [0.0, 4.5], [np.nan, 1.0]])
    np.testing.assert_array_equal(keypoints_in_image(xy, 10, 5), [True, False, True, False, False, False])


def test_row_json_round_trip_keeps_exact_values_and_nan(tmp_path):
    result = FakeSource(seed=3).render(6)
    result.views[0].keypoints[1] = [np.nan, np.nan]
    views = [camera_row(v, f"labeled-data/{v.camera}/img00006.png", "0" * 64) for v in result.views]
    row = frame_row(result, views)
    store = RowStore(tmp_path / "rows")
    store.write(row)
    (tmp_path / "rows" / ".00000007.abc.tmp.json").write_text("{")  # a killed run's temporary file
    assert store.done() == {6}
    back = store.read(6)
    assert back.index == 6 and back.params == row.params and back.segment == "1"
    np.testing.assert_array_equal(back.keypoints3d, result.keypoints3d)
    for a, b, view in zip(back.views, row.views, result.views, strict=True):
        np.testing.assert_array_equal(a.xy, b.xy)
        np.testing.assert_array_equal(a.visible, b.visible)
        np.testing.assert_array_equal(rle_to_mask(a.rle, a.height, a.width), view.mask)
        assert a.bbox == b.bbox and a.area == int(view.mask.sum())
    assert not back.views[0].in_image[1] and not back.views[0].visible[1]
    assert row_to_json(back) == row_to_json(row)
