"""How much memory this process can still allocate (system, control group and address-space limits), so that
a renderer can refuse a camera too large for it before allocating anything."""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path


def available_memory() -> int | None:
    """Bytes this process can still allocate, or ``None`` when unknown: the smallest of the system's available
    memory (``MemAvailable``), the control group's limit less its (non-reclaimable) use, and the address-space
    limit (``ulimit -v``) less what the process maps already."""
    found: list[int] = []
    meminfo = _read_fields("/proc/meminfo")
    if "MemAvailable" in meminfo:
        found.append(meminfo["MemAvailable"] * 1024)
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            used -= _read_fields("/sys/fs/cgroup/memory.stat", sep=" ").get("inactive_file", 0)
            found.append(int(limit) - max(used, 0))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        mapped = _read_fields(f"/proc/{os.getpid()}/status").get("VmSize", 0) * 1024
        found.append(soft - mapped)
    return max(0, min(found)) if found else None


def _read_fields(path: str, sep: str = ":") -> dict[str, int]:
    """``name<sep> number [kB]`` lines of a /proc or /sys file as ``{name: number}`` (empty when unreadable)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        with open(path) as fh:
            for line in fh:
                name, _, rest = line.partition(sep)
                with contextlib.suppress(ValueError, IndexError):
                    out[name.strip()] = int(rest.split()[0])
    return out


__all__ = ["available_memory"]
