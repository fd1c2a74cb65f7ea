"""Guard against a crash when torch code runs in a process that already rendered with Mesa's OpenGL."""

from __future__ import annotations

import sys


def avoid_llvm_clash() -> None:
    """Keep triton out of a process that already runs Mesa's OpenGL (the GL renderer).

    torch's optimizers and torchvision (imported by torchmetrics) import ``torch._dynamo`` and with it
    triton; triton's bundled LLVM crashes the process (segmentation fault) when Mesa's llvmpipe LLVM is
    already loaded. Triton only compiles GPU kernels, so where an EGL/GL context module is loaded and triton
    is not, ``import triton`` is made to fail (torch then treats triton as absent). Loading triton first and
    Mesa second is fine.
    """
    if "triton" not in sys.modules and any(m in sys.modules for m in ("glcontext.egl", "moderngl")):
        sys.modules["triton"] = None  # type: ignore[assignment]
