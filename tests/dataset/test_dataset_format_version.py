"""The dataset format version guards reproducibility: the bytes of a fixed dataset change only with a bump.

A dataset is resumed (and promised byte-identical) only under the same ``DATASET_FORMAT_VERSION``. This test
pins the digest of the label files our own code writes for a fixed fake dataset (no renderer: tiny deterministic
frames), per format version. When it fails, an output-changing commit forgot the bump: raise
``synthmouse.dataset.state.DATASET_FORMAT_VERSION``, add a CHANGELOG.md line saying what changed, and record
the new digest here under the new version (never edit the digest of an old version).

Files whose bytes belong to other libraries (PNG encoders, HDF5, .slp, .nwb) or to the folder's location
(``config.yaml``'s ``project_path``, ``lp_config.yaml``'s ``data_dir``), and the manifest (it names the package
version), are left out, so the test does not fail for reasons the format version cannot control.
"""

from __future__ import annotations

import hashlib
import json

from fakes.dataset import make_dataset, tree_digest
from synthmouse.dataset.state import DATASET_FORMAT_VERSION

# DATASET_FORMAT_VERSION -> sha256 of the sorted "path sha256" lines of PINNED_FILES
GOLDEN = {
    2: "9750bef8115222fd60ffa67e2bcd1ec3c5ea218a8805240ffbf15398af2db27c",
}
PINNED_SUFFIXES = (".csv", ".json")
LOCATION_DEPENDENT = {"manifest.json"}


def pinned_digest(root) -> tuple[str, list[str]]:
    files = {
        path: digest
        for path, digest in tree_digest(root).items()
        if path.endswith(PINNED_SUFFIXES) and path not in LOCATION_DEPENDENT
    }
    text = "\n".join(f"{path} {digest}" for path, digest in sorted(files.items()))
    return hashlib.sha256(text.encode()).hexdigest(), sorted(files)


def test_label_bytes_change_only_with_a_format_version_bump(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=12, seed=5, formats=("dlc", "sleap", "coco", "lp"))
    digest, files = pinned_digest(root)
    assert {"splits.json", "frames.csv", "keypoints3d.csv", "coco/annotations.json"} <= set(files)
    assert any(f.startswith("labeled-data/") for f in files) and "CollectedData_top.csv" in files
    assert json.loads((root / "manifest.json").read_text())["format_version"] == DATASET_FORMAT_VERSION
    assert DATASET_FORMAT_VERSION in GOLDEN, (
        f"no golden digest for dataset format {DATASET_FORMAT_VERSION}: record {digest} in GOLDEN"
    )
    assert digest == GOLDEN[DATASET_FORMAT_VERSION], (
        f"the label files of a fixed dataset changed (digest {digest}) under the same dataset format version "
        f"{DATASET_FORMAT_VERSION}: bump DATASET_FORMAT_VERSION, add a CHANGELOG.md line, and record the new "
        "digest under the new version"
    )
