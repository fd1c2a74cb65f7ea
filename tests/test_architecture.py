"""The package order of docs/architecture.md, checked on the source: data flows one way.

A package imports only from packages at its level or below in ``LAYERS`` (``io`` and the root helpers are the
foundation, ``cli`` the leaf nothing imports), and an import inside a function is allowed only where it keeps
a heavy optional library out of ``import synthmouse`` (each listed with its reason) or in ``cli`` (nothing
imports it; lazy imports keep ``synthmouse --help`` fast). Any other function-level import would exist only to
dodge a cycle, and fails here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "synthmouse"

# lower index = further upstream; a package may import its own level and below
LAYERS: list[set[str]] = [
    {"errors", "fileio", "io", "data"},  # foundation (plus the root's __version__)
    {"body"},
    {"motion"},
    {"scene"},
    {"render"},
    {"appearance"},
    {"dataset"},
    {"export"},
    {"metrics"},
    {"pose"},
    {"api"},
    {"cli", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

# module imported inside functions -> why it may not be imported at module level
LAZY_ALLOWED: dict[str, str] = {
    "synthmouse.render.gl": "moderngl and an EGL context; only the GL renderer needs them",
    "synthmouse.api": "the package root re-exports the public API on first use, so `import synthmouse` stays light",
}
LAZY_PACKAGES = {"cli": "nothing imports the CLI; its commands import their packages when they run"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported synthmouse module, dotted
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


ROOT_NAMES = {"__version__"}  # names the package root defines itself (foundation)


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] not in ROOT_NAMES else "<root>"


def resolve(node: ast.ImportFrom | ast.Import, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not node.level:
        return [node.module or ""]
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    if node.module:
        return [".".join([*base, node.module])]
    return [".".join([*base, alias.name]) for alias in node.names]


def function_nodes(tree: ast.Module) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    return inside


def type_checking_nodes(tree: ast.Module) -> set[int]:
    """Imports under ``if TYPE_CHECKING:`` (never executed)."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(id(child) for child in ast.walk(node) if child is not node)
    return guarded


def synthmouse_imports() -> list[Import]:
    found: list[Import] = []
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        inside, guarded = function_nodes(tree), type_checking_nodes(tree)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in guarded:
                continue
            for target in resolve(node, module, path.name == "__init__.py"):
                if target == "synthmouse" or target.startswith("synthmouse."):
                    found.append(Import(module, target, node.lineno, id(node) in inside))
    return found


def rank_of(module: str) -> int:
    package = package_of(module)
    if package == "<root>":
        return 0  # `from synthmouse import __version__`
    assert package in RANK, f"package synthmouse.{package} is not placed in LAYERS (docs/architecture.md)"
    return RANK[package]


def test_every_package_is_placed_in_the_documented_order():
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file() or p.suffix == ".py"}
    packages = {p.removesuffix(".py") for p in packages} - {"__init__"}
    assert packages <= set(RANK), f"not in LAYERS: {sorted(packages - set(RANK))}"


def test_no_package_imports_a_package_above_it():
    upward = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in synthmouse_imports()
        if rank_of(i.target) > rank_of(i.module) and package_of(i.module) != "<root>"
    ]
    assert not upward, "imports against the data flow:\n" + "\n".join(upward)


def test_no_function_level_import_only_to_avoid_a_cycle():
    hidden = [
        f"{i.module}:{i.line} imports {i.target} inside a function"
        for i in synthmouse_imports()
        if i.in_function and package_of(i.module) not in LAZY_PACKAGES and i.target not in LAZY_ALLOWED
    ]
    assert not hidden, "function-level imports (hoist them, or list the heavy module with a reason):\n" + "\n".join(
        hidden
    )


def test_the_checker_sees_a_violation(tmp_path):
    """The rules above are not vacuous: an upward import and a hidden import in a sample are found."""
    sample = "from synthmouse.cli import main\n\ndef f():\n    from synthmouse.scene import build\n"
    tree = ast.parse(sample)
    inside = function_nodes(tree)
    imports = [
        (target, id(node) in inside)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for target in resolve(node, "synthmouse.body.model", False)
    ]
    assert imports == [("synthmouse.cli", False), ("synthmouse.scene", True)]
    assert rank_of("synthmouse.cli") > rank_of("synthmouse.body.model")
