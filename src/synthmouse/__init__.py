"""synthmouse: exactly labelled synthetic training data for mouse pose estimation.

The public API (:mod:`synthmouse.api`), loaded on first use so that ``import synthmouse`` stays light::

    import synthmouse as sm

    scene = sm.load_scene("scene.yaml")  # or sm.demo_scene()
    sm.generate(scene, out="ds", frames=100, seed=None, formats=None)
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("synthmouse")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

if TYPE_CHECKING:
    from .api import SceneFile, demo_scene, generate, load_scene

__all__ = ["SceneFile", "__version__", "demo_scene", "generate", "load_scene"]
API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str):
    """The public API's names, imported from :mod:`synthmouse.api` when first used."""
    if name in API:
        return getattr(import_module(".api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *API})
