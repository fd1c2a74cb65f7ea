"""Faults that used to end in a traceback: a full disk while exporting (HDF5's RuntimeError), a billion frames,
a camera too large to render. Each is one clear line (exit 2 from the command line) and leaves nothing
half-written."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import subprocess
import tracemalloc
from pathlib import Path

import pytest

from fakes.dataset import FakeSource, make_dataset
from synthmouse.dataset.generation import GenerateOptions, finalize, generate
from synthmouse.errors import OutputError, RenderError
from synthmouse.fileio import atomic_path, final_name, write_failure

H5PY_DISK_FULL = (
    "Disable slist on flush dest failure failed (file write failed: time = Thu Dec  3 17:24:27 2026\n"
    ", filename = '{path}', file descriptor = 3, errno = 28, error message = 'No space left on device', "
    "buf = 0x564fe29e0f70, total write size = 2288, bytes this sub-write = 2288, offset = 24576)"
)


def _temporary_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if ".tmp" in p.name]


# ------------------------------------------------------------------------------------------------- disk full
def test_write_failures_of_hdf5_libraries_are_recognized():
    tmp = "/data/ds/nwb/.dataset.utnzu5ba.tmp.nwb"
    failure = write_failure(RuntimeError(H5PY_DISK_FULL.format(path=tmp)))
    assert failure.disk_full and failure.path == Path("/data/ds/nwb/dataset.nwb")
    assert failure.reason == "No space left on device"
    wrapped = ValueError("hdmf could not write the container")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device", "/x/.labels.ab_c9.tmp.slp")
    failure = write_failure(wrapped)
    assert failure.disk_full and failure.path == Path("/x/labels.slp")
    assert not write_failure(RuntimeError("Unable to create attribute (name already exists)"))
    assert not write_failure(KeyError("nose"))
    assert final_name("a/.CollectedData_synthmouse.k3j_x.tmp.h5") == Path("a/CollectedData_synthmouse.h5")


def test_disk_full_inside_the_nwb_export_is_one_line_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    pytest.importorskip("pynwb")
    import synthmouse.export.nwb as nwb

    def full(self, dataset):
        with atomic_path(dataset.root / "nwb" / "dataset.nwb") as tmp:
            tmp.write_bytes(b"\x89HDF\r\n\x1a\n half")
            raise RuntimeError(H5PY_DISK_FULL.format(path=tmp))

    monkeypatch.setattr(nwb.NwbExporter, "export", full)
    root = tmp_path / "ds"
    options = GenerateOptions(n_frames=4, formats=("dlc", "nwb"))
    with pytest.raises(OutputError) as caught:
        generate(FakeSource(), root, options)
    message = str(caught.value)
    assert message == (
        f"{root}: disk full while writing nwb/dataset.nwb (the nwb export); nothing is left "
        "half-written and the frames are kept: free some space and rerun the same command"
    )
    assert not (root / "nwb" / "dataset.nwb").exists() and not (root / "manifest.json").exists()
    assert not _temporary_files(root)
    monkeypatch.undo()
    assert generate(FakeSource(), root, options).complete


def test_other_exporter_failures_are_one_line_too(tmp_path, monkeypatch):
    import synthmouse.export.coco as coco

    def broken(self, dataset):
        raise KeyError("nose")

    monkeypatch.setattr(coco.CocoExporter, "export", broken)
    root = tmp_path / "ds"
    with pytest.raises(
        Exception,
        match=r"writing the coco export failed \(KeyError: 'nose'\); the frames are "
        r"kept",
    ) as caught:
        generate(FakeSource(), root, GenerateOptions(n_frames=3, formats=("coco",)))
    assert isinstance(caught.value.__cause__, KeyError)


@contextlib.contextmanager
def _tmpfs(where: Path, size: int):
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_really_full_disk_during_the_nwb_export(tmp_path):
    """A tmpfs with room for the frames and the tables but not the NWB file: h5py's own error."""
    pytest.importorskip("pynwb")
    reference = make_dataset(tmp_path / "ref", frames=10, seed=1, formats=("nwb",))
    page = 4096

    def pages(path: Path) -> int:
        return page * math.ceil(path.stat().st_size / page)

    nwb_file = reference / "nwb" / "dataset.nwb"
    others = sum(pages(p) for p in reference.rglob("*") if p.is_file() and p != nwb_file)
    size = others + pages(nwb_file) // 2 + 16 * page
    with _tmpfs(tmp_path / "disk", size) as disk:
        root = disk / "ds"
        options = GenerateOptions(n_frames=10, formats=("nwb",))
        with pytest.raises(OutputError, match=r"disk full while writing nwb/dataset.nwb \(the nwb export\)"):
            generate(FakeSource(seed=1), root, options)
        assert not (root / "nwb" / "dataset.nwb").exists() and not (root / "manifest.json").exists()
        assert not _temporary_files(root)
        subprocess.run(["mount", "-o", f"remount,size={size * 4}", str(disk)], check=True)
        assert generate(FakeSource(seed=1), root, options).complete
        assert json.loads((root / "manifest.json").read_text())["files"]["nwb/dataset.nwb"]


# ------------------------------------------------------------------------------------------ a billion frames
class _StopAfter(FakeSource):
    def __init__(self, frames: int, **kwargs):
        super().__init__(**kwargs)
        self.left = frames

    def render(self, index):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return super().render(index)


def test_a_billion_frames_start_at_once_in_constant_memory(tmp_path):
    root = tmp_path / "ds"
    options = GenerateOptions(n_frames=1_000_000_000, formats=("dlc",))
    tracemalloc.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            generate(_StopAfter(2), root, options)
        with pytest.raises(KeyboardInterrupt):  # a resume lists only the rows on disk
            generate(_StopAfter(1), root, options)
        with pytest.raises(OutputError, match=r"999999997 frames are not generated yet \(first: 3\)"):
            finalize(root, options)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MiB"
    rows = sorted(p.name for p in (root / ".synthmouse" / "rows").iterdir())
    assert rows == ["00000000.json", "00000001.json", "00000002.json"]
    assert (root / "labeled-data" / "synth_top" / "img000000002.png").is_file()  # nine digits for 10^9 frames


# ------------------------------------------------------------------------------------- too large a camera
def _camera(width: int, height: int, dist=None):
    from synthmouse.scene.camera import Camera

    return Camera.look_at(
        "side", (0.02, -0.3, 0.045), (0.0, 0.0, 0.018), width=width, height=height, fov_deg=40.0, dist=dist
    )


def test_a_camera_beyond_the_gl_limit_is_refused_before_allocating(renderer, monkeypatch):
    import synthmouse.render.gl as gl

    monkeypatch.setattr(gl, "available_memory", lambda: 1 << 50)
    limit = renderer.max_size
    with pytest.raises(
        RenderError,
        match=rf"camera 'side': a {limit + 1} x 64 image needs a {limit + 1} x 64 "
        rf"render, beyond this OpenGL's limit of {limit} pixels a side",
    ):
        renderer._check_cameras([_camera(limit + 1, 64)])
    with pytest.raises(RenderError, match="its lens distortion widens the undistorted render"):
        renderer._check_cameras([_camera(limit - 8, 64, dist=(-0.3, 0.0, 0.0, 0.0, 0.0))])
    renderer._check_cameras([_camera(640, 480)])  # fine


def test_a_camera_larger_than_the_memory_is_refused_before_allocating(renderer, monkeypatch):
    import synthmouse.render.gl as gl

    monkeypatch.setattr(gl, "available_memory", lambda: 256 * 2**20)
    with pytest.raises(
        RenderError,
        match=r"camera 'side': a 4096 x 4096 image needs about 0\.\d GiB of memory to "
        r"render \(a 4096 x 4096 render target, the frame's images\), only 0\.2 "
        r"GiB is available",
    ):
        renderer._check_cameras([_camera(4096, 4096)])


@pytest.mark.slow  # builds the real scene (body, motion, GL upload): about 15 s
def test_generate_with_a_camera_too_large_for_the_memory_fails_cleanly(renderer, tmp_path, monkeypatch, capsys):
    import synthmouse.render.gl as gl
    from synthmouse.cli import main

    monkeypatch.setattr(gl, "available_memory", lambda: 64 * 2**20)
    scene = tmp_path / "big.yaml"
    scene.write_text(
        "rig: {type: wheel}\ncameras:\n  - name: side\n    width: 4096\n    height: 4096\n"
        "    fov_deg: 40\n    look_at: {eye: [0.02, -0.3, 0.045], target: [0.0, 0.0, 0.018]}\n"
    )
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        main.run(["generate", str(scene), "--frames", "2", "--out", str(out), "-f", "dlc"])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and "Traceback" not in err
    assert err.startswith("error: camera 'side': a 4096 x 4096 image needs about") and "GiB is available" in err
    assert not out.exists()
