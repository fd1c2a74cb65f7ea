"""Safe, bounded YAML reading for every file a user writes (scene files, motion mixes, keypoint sets, profiles).

:func:`load_yaml` (and :func:`compose_yaml`, which also returns the composed node tree so callers can point at
lines) reads YAML the way a user means it and turns every problem into one line of a
:class:`~synthmouse.errors.SynthmouseError` (or the subclass the caller names) with the file, the line, the bad
value and what is allowed:

* **encoding**: the bytes must be UTF-8 (a UTF-8 byte-order mark is skipped); a bad byte is reported with its
  line, column and byte offset;
* **control characters** (anything YAML does not allow in a stream: ``\\x00``-``\\x08``, ``\\x0b``, ``\\x0c``,
  ``\\x0e``-``\\x1f``, ``\\x7f`` ...) are reported with their line and column;
* **size**: at most :attr:`YamlLimits.max_bytes` bytes;
* **nesting** deeper than :attr:`YamlLimits.max_depth` levels is refused while composing (no ``RecursionError``);
* **aliases**: the document is counted as if every alias were written out (``*a`` counts the whole subtree of
  ``&a``), and refused as soon as that count passes :attr:`YamlLimits.max_nodes`, so an alias bomb stops after
  a few kilobytes of work; an alias inside the node it refers to (a recursive structure) is refused too;
* **duplicate keys** in one mapping are errors naming both lines (keys merged in with ``<<`` may be overridden,
  as YAML intends);
* numbers: ``1e3`` is a float (YAML 1.2; PyYAML's YAML 1.1 reads it as a string), dates stay strings, an
  integer longer than 100 digits is refused, and a bad explicitly tagged value (``!!int x``) is an error, not a
  crash.

The loader only builds plain data (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``; also
what the YAML safe schema allows by explicit tag) and never runs code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

from ..errors import SynthmouseError

__all__ = ["YamlLimits", "SafeUserLoader", "compose_yaml", "load_yaml", "read_text", "one_line"]


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one YAML document.

    Attributes:
        max_bytes: file size.
        max_depth: nesting depth of mappings and lists.
        max_nodes: values in the document, counting every alias as the subtree it stands for.
        max_int_digits: length of an integer literal.
    """

    max_bytes: int = 8 * 1024 * 1024
    max_depth: int = 100
    max_nodes: int = 100_000
    max_int_digits: int = 100


DEFAULT_LIMITS = YamlLimits()

# What YAML 1.1 allows in a stream (yaml.reader.Reader.NON_PRINTABLE is its complement).
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# YAML 1.2 floats: ``1e3`` and ``1.5e-3`` are numbers (YAML 1.1 needs a dot and a signed exponent); no
# sexagesimal ``1:30.5``.
_FLOAT = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters written as escapes (``\\n``), so a message that
    quotes a user's value stays on one line."""
    return re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]", lambda m: ascii(m.group())[1:-1], text)


class _Bounded(Exception):
    """Internal: a limit was hit; carries the message and the mark."""

    def __init__(self, message: str, mark):
        super().__init__(message)
        self.message, self.mark = message, mark


class SafeUserLoader(yaml.SafeLoader):
    """:class:`yaml.SafeLoader` with bounded depth and alias expansion, duplicate-key errors, YAML 1.2 floats,
    no implicit dates, and every construction failure turned into a :class:`yaml.constructor.ConstructorError`.

    Use :func:`compose_yaml` / :func:`load_yaml` rather than this class directly.
    """

    limits: YamlLimits = DEFAULT_LIMITS

    # resolvers: PyYAML's implicit resolvers with the YAML 1.2 float pattern and without timestamps
    yaml_implicit_resolvers = {
        first: [(tag, _FLOAT if tag == _FLOAT_TAG else regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream, limits: YamlLimits | None = None):
        super().__init__(stream)
        if limits is not None:
            self.limits = limits
        self._depth = 0
        self._expanded = 0  # values so far, aliases counted as the subtree they stand for
        self._sizes: dict[int, int] = {}  # id(node) -> expanded size of its finished subtree

    # -- composing: depth and alias expansion ---------------------------------------------------------------
    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:
                raise _Bounded(
                    f"alias *{event.anchor} refers to a node that contains it (a recursive structure); "
                    "write the values out",
                    event.start_mark,
                )
            self._count(size, event.start_mark, alias=event.anchor)
            return node
        event = self.peek_event()
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise _Bounded(
                f"nested more than {self.limits.max_depth} levels deep; allowed {self.limits.max_depth}",
                event.start_mark,
            )
        start = self._expanded
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._count(1, event.start_mark)
        self._sizes[id(node)] = self._expanded - start
        return node

    def _count(self, n: int, mark, alias: str | None = None) -> None:
        self._expanded += n
        if self._expanded > self.limits.max_nodes:
            if alias is not None:
                raise _Bounded(
                    f"alias *{alias} ({n} values) makes the document larger than {self.limits.max_nodes} values "
                    "when the aliases are written out; allowed at most "
                    f"{self.limits.max_nodes} (use fewer or smaller aliases)",
                    mark,
                )
            raise _Bounded(
                f"the document has more than {self.limits.max_nodes} values; allowed at most {self.limits.max_nodes}",
                mark,
            )

    # -- constructing: duplicate keys, numbers, failures ----------------------------------------------------
    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, _Bounded, RecursionError, MemoryError):
            raise
        except Exception as exc:  # a value the tag's constructor cannot make (!!int x, !!bool maybe, ...)
            raise ConstructorError(
                None,
                None,
                f"cannot read {node.value!r} as {node.tag.replace('tag:yaml.org,2002:', '!!')}: {exc}",
                node.start_mark,
            ) from None

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable: SafeConstructor reports it
                    continue
                if first is not None:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first on line {first.line + 1}, again on line "
                        f"{key_node.start_mark.line + 1}); a key may appear once in a mapping",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        value = self.construct_scalar(node)
        digits = len(value.lstrip("+-").replace("_", ""))
        if digits > self.limits.max_int_digits:
            raise ConstructorError(
                None,
                None,
                f"an integer with {digits} digits; allowed at most {self.limits.max_int_digits} digits",
                node.start_mark,
            )
        return super().construct_yaml_int(node)


SafeUserLoader.add_constructor("tag:yaml.org,2002:int", SafeUserLoader.construct_yaml_int)

try:  # libyaml's parser (C) for the events, when PyYAML has it: about four times faster than the pure Python one
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

if _CParser is not None:

    class _CSafeUserLoader(_CParser, SafeUserLoader):
        """:class:`SafeUserLoader` reading its events from libyaml; composing (with its bounds) and constructing
        stay in Python."""

        def __init__(self, stream, limits: YamlLimits | None = None):
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.limits = limits or DEFAULT_LIMITS
            self._depth = 0
            self._expanded = 0
            self._sizes = {}

        # the Python composer, not libyaml's (which has no bounds)
        get_single_node = Composer.get_single_node
        get_node = Composer.get_node
        check_node = Composer.check_node


def _loader(text: str, limits: YamlLimits) -> SafeUserLoader:
    return _CSafeUserLoader(text, limits) if _CParser is not None else SafeUserLoader(text, limits)


# ---------------------------------------------------------------------------------------------- reading
def read_text(
    path: str | Path,
    *,
    error: type[SynthmouseError] = SynthmouseError,
    what: str = "file",
    limits: YamlLimits = DEFAULT_LIMITS,
) -> str:
    """The text of a user's file: it must be a regular file of at most ``limits.max_bytes`` bytes, in UTF-8.

    Raises:
        error: one line naming the file (and for a bad byte, its line, column and byte offset).
    """
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: {what} not found")
    if not path.is_file():
        raise error(f"{path}: not a regular file (a {what} is a text file)")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(raw) > limits.max_bytes:
        raise error(f"{path}: the {what} is larger than {limits.max_bytes} bytes; allowed at most that")
    return decode(raw, str(path), error=error)


def decode(raw: bytes, name: str, *, error: type[SynthmouseError] = SynthmouseError) -> str:
    """UTF-8 ``raw`` as text (a byte-order mark is dropped); a bad byte is one error line with its position."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
        raise error(
            f"{name}, line {line}, column {column}: not UTF-8 text (byte 0x{raw[offset]:02x} at byte offset "
            f"{offset}); save the file as UTF-8"
        ) from None


def check_printable(text: str, name: str, *, error: type[SynthmouseError] = SynthmouseError) -> None:
    """Raise ``error`` for the first character YAML does not allow (control characters), with its line."""
    match = _NON_PRINTABLE.search(text)
    if match is None:
        return
    offset = match.start()
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    char = match.group()
    raise error(
        f"{name}, line {line}, column {column}: control character U+{ord(char):04X} ({ascii(char)}) is not "
        "allowed in a YAML file; remove it (write tabs and line breaks inside quoted strings as \\t and \\n)"
    )


def compose_yaml(
    source: str | bytes | Path,
    name: str | None = None,
    *,
    error: type[SynthmouseError] = SynthmouseError,
    what: str = "file",
    limits: YamlLimits = DEFAULT_LIMITS,
) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into plain data and its node tree (marks give each value's line).

    Args:
        source: YAML text, UTF-8 bytes, or a :class:`~pathlib.Path` to read.
        name: how errors name the source (default: the path, or ``<yaml>``).
        error: the exception class to raise (a :class:`~synthmouse.errors.SynthmouseError` subclass).
        what: what the file is, for messages (``scene file``, ``motion mix file``).
        limits: size, depth, alias-expansion and integer bounds.

    Returns:
        ``(data, node)``; ``(None, None)`` for an empty document.

    Raises:
        error: one line ``NAME, line N: not valid YAML: problem`` (or the encoding / control-character /
            limit message), never a traceback.
    """
    if isinstance(source, Path):
        name = name or str(source)
        text = read_text(source, error=error, what=what, limits=limits)
    elif isinstance(source, bytes):
        name = name or "<yaml>"
        if len(source) > limits.max_bytes:
            raise error(f"{name}: larger than {limits.max_bytes} bytes; allowed at most that")
        text = decode(source, name, error=error)
    else:
        name = name or "<yaml>"
        if len(source) > limits.max_bytes:
            raise error(f"{name}: larger than {limits.max_bytes} characters; allowed at most that")
        text = source.removeprefix("\ufeff")
    check_printable(text, name, error=error)
    loader = _loader(text, limits)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Bounded as exc:
        raise error(f"{name}, line {exc.mark.line + 1}: {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own (larger) limit, hit while scanning ahead
            line = f", line {exc.problem_mark.line + 1}" if exc.problem_mark is not None else ""
            raise error(
                f"{name}{line}: nested more than {limits.max_depth} levels deep; allowed {limits.max_depth}"
            ) from None
        raise error(_yaml_message(exc, name)) from None
    except yaml.YAMLError as exc:  # ReaderError and the like: already screened, kept as a safety net
        raise error(f"{name}: not valid YAML: {one_line(str(exc))}") from None
    except RecursionError:
        raise error(f"{name}: nested too deeply; allowed {limits.max_depth} levels") from None
    finally:
        loader.dispose()
    return data, node


def load_yaml(
    source: str | bytes | Path,
    name: str | None = None,
    *,
    error: type[SynthmouseError] = SynthmouseError,
    what: str = "file",
    limits: YamlLimits = DEFAULT_LIMITS,
) -> Any:
    """Parse one YAML document into plain data (see :func:`compose_yaml`; same arguments and errors)."""
    return compose_yaml(source, name, error=error, what=what, limits=limits)[0]


def _yaml_message(exc: yaml.MarkedYAMLError, name: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f", line {mark.line + 1}" if mark is not None else ""
    problem = exc.problem or exc.context or "malformed"
    if isinstance(exc, ComposerError) and "duplicate anchor" in (exc.context or ""):
        problem = f"{exc.context.split(';')[0]} (first on line {exc.context_mark.line + 1})"
    elif exc.context and exc.problem and exc.context_mark is not None and exc.context_mark is not mark:
        problem += f" ({exc.context} on line {exc.context_mark.line + 1})"
    elif exc.context and exc.problem:
        problem += f" ({exc.context})"
    return f"{name}{where}: not valid YAML: {one_line(problem)}"
