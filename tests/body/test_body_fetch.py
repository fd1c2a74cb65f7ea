"""Model download from a loopback HTTP server serving the SAM folder; the ``synthmouse model`` commands."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import socket
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthmouse.body import fetch
from synthmouse.body.sam import SAM_FILES
from synthmouse.body.tongue import TONGUE_VERTICES
from synthmouse.errors import FetchError


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture()
def serve(tmp_path):
    """Start a loopback HTTP server on a free port for a folder; yields ``serve(folder) -> base URL``."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def test_sources_cover_the_sam_files_and_digests_match_the_published_copy(sam_dir):
    assert set(fetch.SAM_SOURCES) == set(SAM_FILES)
    for name, (_, digest) in fetch.SAM_SOURCES.items():
        assert hashlib.sha256((sam_dir / name).read_bytes()).hexdigest() == digest, name
    assert (sam_dir / "keypoint22_names.txt").read_text() == "\n".join(fetch.MOUSE22_NAMES) + "\n"
    assert fetch.SAM_BASE_URL.startswith("https://raw.githubusercontent.com/anl13/MAMMAL_mouse/")
    assert len(fetch.SAM_COMMIT) == 40


def test_fetch_from_mirror_downloads_checks_and_skips(sam_dir, tmp_path, serve):
    base = serve(sam_dir)
    dest = tmp_path / "cache" / "sam"
    messages: list[str] = []
    assert fetch.fetch_model("sam", base_url=base, dest=dest, progress=messages.append) == dest
    for name in SAM_FILES:
        assert (dest / name).read_bytes() == (sam_dir / name).read_bytes(), name
    assert not list(dest.glob(".*tmp*"))  # no temporary files left behind
    assert any(f"{base}/vertices.txt" in m for m in messages)
    # a second run downloads nothing: the server is gone, so any download would fail
    messages.clear()
    fetch.fetch_model("sam", base_url=f"http://127.0.0.1:{_closed_port()}", dest=dest, progress=messages.append)
    assert all("present, checksum ok" in m for m in messages) and len(messages) == len(SAM_FILES)


def test_fetched_folder_loads(sam_dir, tmp_path, serve):
    from synthmouse.body.sam import load_sam

    dest = fetch.fetch_model("sam", base_url=serve(sam_dir), dest=tmp_path / "sam")
    assert load_sam(dest).mesh.n_vertices == 14522 + TONGUE_VERTICES


def test_corrupted_file_fails_its_checksum_and_is_not_saved(sam_dir, tmp_path, serve):
    mirror = tmp_path / "mirror"
    shutil.copytree(sam_dir, mirror)
    (mirror / "parents.txt").chmod(0o644)
    (mirror / "parents.txt").write_text((sam_dir / "parents.txt").read_text().replace("\n5\n", "\n4\n", 1))
    got = hashlib.sha256((mirror / "parents.txt").read_bytes()).hexdigest()
    dest = tmp_path / "dest"
    with pytest.raises(FetchError) as info:
        fetch.fetch_model("sam", base_url=serve(mirror), dest=dest)
    message = str(info.value)
    assert "parents.txt" in message and fetch.SAM_SOURCES["parents.txt"][1] in message and got in message
    assert not (dest / "parents.txt").exists()


def test_closed_port_names_the_url_and_the_model_path_alternative(tmp_path):
    base = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(FetchError) as info:
        fetch.fetch_model("sam", base_url=base, dest=tmp_path / "d", timeout=5)
    assert f"{base}/vertices.txt" in str(info.value) and "--model PATH" in str(info.value)


def test_missing_file_on_server_is_an_http_error(sam_dir, tmp_path, serve):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(sam_dir / "vertices.txt", mirror / "vertices.txt")
    with pytest.raises(FetchError, match=r"faces_vert.txt: HTTP 404"):
        fetch.fetch_model("sam", base_url=serve(mirror), dest=tmp_path / "d")


def test_unknown_model_and_cache_dir(monkeypatch, tmp_path):
    with pytest.raises(FetchError, match="unknown model 'rat'; allowed: sam"):
        fetch.fetch_model("rat", dest=tmp_path)
    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "c"))
    assert fetch.cached_model_dir("sam") == tmp_path / "c" / "models" / "sam"
    monkeypatch.delenv(fetch.CACHE_ENV)
    default = fetch.cached_model_dir("sam")
    assert default.parts[-3:] == ("synthmouse", "models", "sam") or default.parts[-2:] == ("models", "sam")


# --- the CLI ------------------------------------------------------------------------------------------------
def test_cli_fetch_and_info(sam_dir, tmp_path, serve):
    from synthmouse.cli.main import app

    runner = CliRunner()
    dest = tmp_path / "sam"
    result = runner.invoke(app, ["model", "fetch", "sam", "--url", serve(sam_dir), "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    assert f"ready in {dest}" in result.output
    assert (dest / "vertices.txt").read_bytes() == (sam_dir / "vertices.txt").read_bytes()

    result = runner.invoke(app, ["model", "info", str(dest)])
    assert result.exit_code == 0, result.output
    assert f"vertices: {14522 + TONGUE_VERTICES}" in result.output and "joints: 141" in result.output
    assert "femur_l" in result.output and "length (nose to tail root): 95.0 mm" in result.output
    for name in ("mouse22 (22)", "dlc-topview (4)", "superanimal-topview (27)", "side-limbs (22)"):
        assert name in result.output


def test_cli_fetch_error_is_a_fetch_error(tmp_path):
    from synthmouse.cli.main import app

    result = CliRunner().invoke(
        app, ["model", "fetch", "sam", "--url", f"http://127.0.0.1:{_closed_port()}", "--dest", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, FetchError) and "--model PATH" in str(result.exception)
