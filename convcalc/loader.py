"""YAML architecture files -> ``Architecture``: the only reader of files.

``load`` finds and reads a file (a path, the name of a built-in architecture, or a named
scale: 'efficientnet_b3'); ``parse`` turns its text into an ``Architecture``: it keeps the line
of every key, checks keys against the layer dataclasses, expands blocks, repeats (scaled by the
depth multiplier) and conditions, evaluates formulas, names every layer with a dotted path and
resolves what each reads ('from:'), compiling residuals, concat branches, side branches and
splits into plain graph nodes. Formulas over the block input's shape (``in.c``) become layers
that are built at analysis time. The expansion counts its nesting across blocks and charges
every item to the budget, so no file can exhaust the stack or run unbounded. YAML is read with
PyYAML's safe loader only.
"""

import dataclasses
import math
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml

from convcalc import expr
from convcalc.architecture import NETWORK_INPUT, Architecture, Node
from convcalc.errors import ConvcalcError, one_line, suggestion
from convcalc.expr import is_name
from convcalc.inputs import read_input
from convcalc.layers import (
    FAMILIAR_NAMES,
    LAYER_KINDS,
    Add,
    Concat,
    Deferred,
    FloatPair,
    Layer,
    Merge,
    Padding,
    Sections,
    Shortcut,
    WidthScale,
    yaml_keys,
)
from convcalc.limits import (
    MAX_DEPTH_MULTIPLIER,
    MAX_FILE_BYTES,
    MAX_NESTING,
    MAX_NUMBER_CHARS,
    MAX_REPEAT,
    MAX_WIDTH,
    Budget,
)
from convcalc.shapes import Pair, Shape, checked_shape, parse_shape

TOP_KEYS = ("name", "description", "source", "input", "channel_divisor", "defaults", "blocks",
            "layers", "outputs", "scales")
BODY_KEYS = ("name", "layers", "shortcut", "after")
BLOCK_KEYS = ("args", "layers", "shortcut", "after", "branches")
GRAPH_KINDS = ("residual", "concat", "side", "group")
SHORTCUTS = ("auto", "identity", "projection", "if_same")
ITEM_MODIFIERS = ("repeat", "first", "scale_repeat", "if")
RESERVED = ("input", "in")  # 'from:' words: the network input, the enclosing block's input
PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in
              ("null", "bool", "int", "float", "str", "timestamp", "map", "seq")}
# Per layer class, once: the YAML keys it accepts and the type each field is read as.
YAML_KEYS = {cls: yaml_keys(cls) for cls in LAYER_KINDS.values()}
FIELD_TYPES = {cls: {f.name: f.type for f in dataclasses.fields(cls)}
               for cls in LAYER_KINDS.values()}


class YMap(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int
    key_lines: dict[str, int]


class YList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int
    lines: list[int]


def builtin_dirs(folder: str = "architectures") -> list[Path]:
    """Where built-in architectures (or another shipped folder of YAML files, such as
    devices/) live: inside the installed package (the wheel carries the folder there), or
    beside the package in a source checkout."""
    package = Path(__file__).resolve().parent
    return [package / folder, package.parent / folder]


def builtin_names(folder: str = "architectures") -> list[str]:
    """Names of the built-in architectures (or of another shipped folder's files), in natural
    order (resnet18 before resnet101)."""
    names = {p.stem for d in builtin_dirs(folder) if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names, key=_natural)


def catalogue_names() -> list[str]:
    """The names ``convcalc list`` shows, in natural order: each built-in architecture's, or
    for a file with named ``scales:`` one NAME_SCALE per scale (efficientnet_b0 ...
    efficientnet_b7, torchvision's names) instead of the file's own. ``builtin_names`` stays
    one name per file, so that the tests and tools going over every file read each once."""
    names = [f"{name}_{scale}" if scale else name for name in builtin_names()
             for scale in scale_names(locate(name)) or ("",)]
    return sorted(names, key=_natural)


def scale_names(path: Path) -> tuple[str, ...]:
    """The names of a YAML file's ``scales:``, in the file's order (none without them),
    without expanding its layers."""
    shown = path.name if path.parent in builtin_dirs() else str(path)
    try:
        doc = _read_yaml(read_text(path, "architecture files", shown), Budget())
        return tuple(_mapping(doc.get("scales"), "'scales'", doc.key_lines.get("scales")))
    except ConvcalcError as e:
        raise e.located(file=shown) from None


def _natural(name: str) -> list[int | str]:
    """Sort key of natural order: the digits as numbers (resnet18 before resnet101)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def locate(source: str | Path, folder: str = "architectures", what: str = "architecture",
           listing: str = "convcalc list") -> Path:
    """The file for a path, or for the name of a built-in architecture (or of a file in
    another shipped ``folder``, a ``what`` that the command ``listing`` shows)."""
    path = Path(source)
    try:
        if path.suffix in (".yaml", ".yml", ".onnx") or path.exists() or len(path.parts) > 1:
            return path
        for directory in builtin_dirs(folder):
            if (directory / f"{source}.yaml").is_file():
                return directory / f"{source}.yaml"
    except OSError as e:  # a name longer than the file system allows: Path.exists raises
        raise ConvcalcError(f"cannot read: {e.strerror or e}", file=str(source)) from None
    hint = suggestion(str(source), builtin_names(folder))
    raise ConvcalcError(f"no file and no built-in {what} named '{source}'{hint}"
                        f"{' ' if hint else '; '}'{listing}' shows the built-in ones")


def locate_scaled(source: str | Path) -> tuple[Path, str | None]:
    """The file and named scale for a source: 'efficientnet_b3' is efficientnet.yaml's scale
    'b3' when no efficientnet_b3.yaml exists; 'nets/effnet.yaml:b3' names a file's scale."""
    text = str(source)
    base, _, scale = text.rpartition(":")
    if not isinstance(source, Path) and Path(base).suffix in (".yaml", ".yml") and is_name(scale):
        return Path(base), scale
    try:
        return locate(source), None
    except ConvcalcError:
        stem, _, scale = text.rpartition("_")
        if stem and scale and len(Path(text).parts) == 1:
            for directory in builtin_dirs():
                if (directory / f"{stem}.yaml").is_file():
                    return directory / f"{stem}.yaml", scale
        raise


def load(source: str | Path, *, depth: float = 1.0) -> Architecture:
    """Read an architecture from a YAML file, an ONNX file or by built-in name ('resnet50', or
    a named scale such as 'efficientnet_b3'); ``depth`` multiplies every scaled repeat count."""
    path, scale = locate_scaled(source)
    shown = path.name if path.parent in builtin_dirs() else str(
        source if scale is None else path)
    if path.suffix == ".onnx":  # the ONNX reader, imported only for ONNX files
        from convcalc.formats.onnx_reader import read_onnx

        if depth != 1.0:
            raise ConvcalcError("--depth-multiplier scales the repeat counts of a YAML file; "
                                "an ONNX graph has none", file=shown)
        return read_onnx(path, shown=shown)
    return parse(read_text(path, "architecture files", shown), file=shown, depth=depth,
                 scale=scale)


def read_text(path: Path, what: str, shown: str, kind: str = "YAML") -> str:
    """The UTF-8 text of an input file (read by ``read_input``, within MAX_FILE_BYTES);
    ``what`` names such files in the size error, ``shown`` names this one."""
    data = read_input(path, MAX_FILE_BYTES, what, shown=shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConvcalcError(f"is not UTF-8 text; is it a {kind} file?", file=shown) from None


def parse(text: str, file: str = "<string>", *, depth: float = 1.0,
          scale: str | None = None) -> Architecture:
    """An ``Architecture`` from YAML text; ``file`` is the name used in error messages.
    ``depth`` multiplies repeat counts (rounded up: EfficientNet's compound scaling) and
    ``scale`` picks one of the file's named ``scales:`` (its width, depth and input)."""
    if not 0 < depth <= MAX_DEPTH_MULTIPLIER:
        raise ConvcalcError(f"depth multiplier {depth:g} must be above 0 and at most "
                            f"{MAX_DEPTH_MULTIPLIER:g}")
    try:
        budget = Budget()
        doc = _read_yaml(text, budget)
        return _Expander(doc, file, budget, depth, scale).architecture()
    except ConvcalcError as e:
        raise e.located(file=file) from None


def _read_yaml(text: str, budget: Budget, needs: str = "an architecture needs 'input' and "
               "'layers'") -> YMap:
    """The YAML document of ``text`` with lines; it must be a mapping (``needs`` says of
    what)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = _values(yaml.parse(text, Loader=loader), budget)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or ""
        raise ConvcalcError(f"not valid YAML: {problem}{_yaml_hint(text, mark, problem)}",
                            line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as e:
        raise ConvcalcError(f"not valid YAML: {e.reason}; is it a YAML file?",
                            line=text.count("\n", 0, e.position) + 1) from None
    if doc is None:
        raise ConvcalcError(f"is empty; {needs}")
    if not isinstance(doc, YMap):
        raise ConvcalcError(f"must be a mapping: {needs}", line=1)
    return doc


def _yaml_hint(text: str, mark: Any, problem: str) -> str:
    """What to do about a YAML syntax error: most in hand-written files come from a tab or a
    misaligned line, which PyYAML reports in its own terms."""
    if mark is None:
        return ""
    lines = text.splitlines()
    for number in (mark.line - 1, mark.line):  # libyaml marks a tab's line or the next one
        line = lines[number] if 0 <= number < len(lines) else ""
        if "\t" in line[:len(line) - len(line.lstrip())]:
            return "; YAML does not allow tabs for indentation: use spaces"
    if problem.startswith(("did not find expected key", "did not find expected '-'",
                           "expected <block end>")):
        return "; check the indentation: the items of one list or mapping start in one column"
    if problem.startswith("mapping values are not allowed"):
        return ("; is the line indented further than the one before, or does a value contain "
                "': '? (quote such a value)")
    return ""


YAML_TAG = "tag:yaml.org,2002:"
# YAML 1.1's pattern for each implicit type, as PyYAML resolves plain values: a value with an
# explicit tag (`!!int abc`) must match its type's pattern like an untagged one.
TAG_PATTERNS = {tag: pattern for resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers
                .values() for tag, pattern in resolvers}
BOOLEANS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
TYPE_WORDS = {"null": "null", "bool": "true or false", "int": "a whole number",
              "float": "a number", "timestamp": "a date"}
# Keys whose values are prose: a date written there ("name: 2001-12-14") is the text it is.
TEXT_KEYS = ("name", "description", "source")
# Per event type: the node type PyYAML resolves its tag for, and its own (tag, word).
EVENT_SHAPES: dict[type, tuple[type, tuple[str, str]]] = {
    yaml.ScalarEvent: (yaml.ScalarNode, ("", "value")),
    yaml.MappingStartEvent: (yaml.MappingNode, ("map", "mapping")),
    yaml.SequenceStartEvent: (yaml.SequenceNode, ("seq", "list")),
}


@dataclasses.dataclass
class _Open:
    """A mapping or list whose end event has not come yet."""

    value: YMap | YList
    anchor: str | None
    start: int  # values counted before it
    height: int = 1  # levels of nesting in it so far
    key: str | None = None  # a mapping's key whose value comes next
    has_key: bool = False


def _values(events: Any, budget: Budget) -> Any:
    """The one document of a YAML event stream as plain values (YMap, YList, scalars), with
    lines; None for an empty stream.

    The values are built from PyYAML's events, one at a time, instead of composing a node tree
    first: libyaml's recursive composer crashes the process on some 100,000 levels, and
    composing millions of values costs seconds and gigabytes before any could be refused. So
    nesting is checked as it opens, every value is charged to the budget as it is read (an
    alias as many as its anchor's whole subtree, so an alias bomb stops at its first costly
    alias) and an alias reuses its anchor's value, as PyYAML's own constructor does."""
    resolver = yaml.resolver.Resolver()
    anchors: dict[str, tuple[Any, int, int]] = {}  # anchor -> (value, values in it, height)
    plain: dict[str, tuple[Any]] = {}  # untagged plain text -> its value, read once
    stack: list[_Open] = []
    allowance = budget.left("yaml_values")  # charged once at the end, unless crossed
    count = 0
    root: Any = None
    documents = 0
    for event in events:
        mark = event.start_mark
        line = mark.line + 1 if mark else 0
        if isinstance(event, yaml.ScalarEvent):
            count += 1
            parent = stack[-1] if stack else None
            key = parent.key if parent is not None and parent.has_key else None
            text = event.value
            known = plain.get(text) if event.tag is None and event.implicit[0] else None
            if known is not None:
                value = known[0]
            elif event.tag is None and not event.implicit[0]:  # quoted, untagged: text
                value = _printable(text, line)
            elif (event.tag is None and text.isascii() and text.isdigit() and text[0] != "0"
                  and len(text) <= MAX_NUMBER_CHARS):  # the commonest: a plain decimal
                value = int(text)
            else:
                tag = _tag(event, resolver, line)
                try:
                    value = _scalar(tag, text, key, explicit=event.tag is not None)
                except ConvcalcError as e:
                    raise e.located(line=line) from None
                if event.tag is None and tag != "timestamp":  # a date's value depends on key
                    plain[text] = (value,)
            height = 0
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1, 0)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                anchors[done.anchor] = (done.value, count - done.start, done.height)
            value, height, line = done.value, done.height, done.value.line
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            count += 1
            _tag(event, resolver, line)
            if len(stack) >= MAX_NESTING:
                raise ConvcalcError(f"is nested deeper than {MAX_NESTING} levels", line=line)
            container: YMap | YList
            if isinstance(event, yaml.MappingStartEvent):
                container = YMap()
                container.key_lines = {}
            else:
                container = YList()
                container.lines = []
            container.line = line
            stack.append(_Open(container, event.anchor, count - 1))
            if count > allowance:
                budget.charge("yaml_values", count, line=line)
            continue
        elif isinstance(event, yaml.AliasEvent):
            name = event.anchor or ""
            if name not in anchors:
                inside = any(o.anchor == name for o in stack)
                raise ConvcalcError(f"alias '*{name}' " + (
                    "is inside the value it names" if inside else "names no anchor ('&') "
                    "before it"), line=line)
            value, size, height = anchors[name]
            count += size
            if len(stack) + height > MAX_NESTING:
                raise ConvcalcError(f"is nested deeper than {MAX_NESTING} levels", line=line)
        elif isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise ConvcalcError("holds more than one YAML document ('---'); an "
                                    "architecture file holds one", line=line)
            continue
        else:  # stream and document ends
            continue
        if count > allowance:
            budget.charge("yaml_values", count, line=line)  # raises: the limit is crossed here
        if not stack:
            root = value
            continue
        _add(stack[-1], value, height, line)
    budget.charge("yaml_values", count)
    return root


def _tag(event: Any, resolver: Any, line: int) -> str:
    """The short name ('int', 'map', ...) of a plain YAML type an event has, explicitly or by
    YAML 1.1's rules; any other tag is refused."""
    kind, shape = EVENT_SHAPES[type(event)]
    tag = event.tag
    if tag is None or tag == "!":
        tag = resolver.resolve(kind, getattr(event, "value", None), event.implicit)
    if tag == YAML_TAG + "merge":
        raise ConvcalcError("YAML merge keys ('<<') are not read; write the keys out, or "
                            "share settings through a block or 'defaults'", line=line)
    if tag not in PLAIN_TAGS:
        raise ConvcalcError(f"YAML tag '{tag}' is not allowed; write plain values", line=line)
    short: str = tag.removeprefix(YAML_TAG)
    if shape[0] != short and (shape[0] or short in ("map", "seq")):  # `!!map [1]`
        raise ConvcalcError(f"YAML tag '!!{short}' cannot mark a {shape[1]}; drop the tag",
                            line=line)
    return short


def _add(parent: _Open, value: Any, height: int, line: int) -> None:
    """Put a finished value into the mapping or list being read: a list's next item, or a
    mapping's next key or the value of its last key."""
    parent.height = max(parent.height, height + 1)
    if isinstance(parent.value, YList):
        parent.value.append(value)
        parent.value.lines.append(line)
    elif not parent.has_key:
        if not isinstance(value, str):
            raise ConvcalcError(f"key {value!r} must be a word", line=line)
        if value in parent.value:
            raise ConvcalcError(f"key '{value}' appears twice in one mapping", line=line)
        parent.key, parent.has_key = value, True
        parent.value.key_lines[value] = line
    else:
        parent.value[parent.key or ""] = value
        parent.key, parent.has_key = None, False


# Characters a terminal obeys instead of showing: controls (ESC starts the sequences that
# recolour text or clear the screen) and the bidirectional overrides that reorder a line.
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _printable(text: str, line: int | None) -> str:
    """``text``, refused if it holds a character a terminal would obey (only newlines and tabs
    may be written as escapes): names and descriptions are printed in tables and reports."""
    bad = None if text.isprintable() else UNPRINTABLE.search(text)
    if bad is not None:
        raise ConvcalcError(f"text {_quoted(text)} holds the control character "
                            f"{bad.group()!r}; write printable text", line=line)
    return text


def _quoted(text: str) -> str:
    """A scalar's text for a message, cut after 40 characters."""
    return repr(text) if len(text) <= 40 else repr(text[:40]) + "..."


def _scalar(tag: str, text: str, key: str | None, *, explicit: bool) -> Any:
    """The value of one YAML scalar, read by its tag (``explicit``: written in the file, such
    as `!!int abc`, else resolved by YAML 1.1's rules, so the text fits its type's pattern).

    PyYAML's own constructor raises ValueError, KeyError or AttributeError on a tag whose text
    does not fit (`!!int abc`, `!!bool maybe`), on invalid dates (2001-13-45) and on integers
    past Python's 4,300 digits; this reads the same YAML 1.1 forms and refuses the rest."""
    if tag == "str":
        return _printable(text, None)
    # YAML 1.1 writes floats with a dot, but `!!float 8` is 8.0, so floats are checked by
    # reading them; the other types by the pattern an untagged value would have to match.
    if explicit and tag != "float" and not TAG_PATTERNS[YAML_TAG + tag].match(text):
        raise ConvcalcError(f"{_quoted(text)} is tagged '!!{tag}' but is not {TYPE_WORDS[tag]}")
    if tag == "null":
        return None
    if tag == "bool":
        return BOOLEANS[text.lower()]
    if tag == "timestamp":
        if key in TEXT_KEYS:
            return text
        raise ConvcalcError(f"{_quoted(text)} is a date to YAML, and no setting takes a date; "
                            "write a number")
    if ":" in text:  # YAML 1.1's base 60: 1:30 is 90
        raise ConvcalcError(f"{_quoted(text)} is a base-60 number to YAML 1.1 (1:30 reads as "
                            "90); write the number itself, or quote it if it is text")
    if len(text) > MAX_NUMBER_CHARS:
        raise ConvcalcError(f"a number of {len(text):,} characters; numbers are limited to "
                            f"{MAX_NUMBER_CHARS}")
    digits = text.replace("_", "").lower()
    sign = -1 if digits.startswith("-") else 1
    digits = digits.removeprefix("-") if sign < 0 else digits.removeprefix("+")
    try:
        if digits.startswith(("-", "+")):
            raise ValueError("a second sign")
        if tag == "float":
            return sign * float({".inf": "inf", ".nan": "nan"}.get(digits, digits))
        if digits.startswith(("0b", "0x")):
            return sign * int(digits[2:], 2 if digits[1] == "b" else 16)
        return sign * int(digits, 8 if digits.startswith("0") and digits != "0" else 10)
    except ValueError:  # `!!float abc`, or only underscores after 0x or 0b
        raise ConvcalcError(f"{_quoted(text)} is tagged '!!{tag}' but is not {TYPE_WORDS[tag]}"
                            ) from None


def _check_keys(mapping: YMap, allowed: tuple[str, ...], what: str) -> None:
    for key in mapping:
        if key not in allowed:
            hint = suggestion(key, allowed, FAMILIAR_NAMES)
            raise ConvcalcError(
                f"unknown key '{key}' in {what}{hint}{' A' if hint else '; a'}llowed: "
                f"{', '.join(allowed)}",
                line=mapping.key_lines[key],
            )


def _mapping(value: Any, what: str, line: int | None) -> YMap:
    if value is None:
        empty = YMap()
        empty.line, empty.key_lines = line or 0, {}
        return empty
    if not isinstance(value, YMap):
        raise ConvcalcError(f"{what} must be a mapping of keys to values, not {value!r}",
                            line=line)
    return value


def _sequence(value: Any, what: str, line: int | None) -> YList:
    if not isinstance(value, YList):
        raise ConvcalcError(f"{what} must be a list of layers, not {value!r}", line=line)
    return value


class _Lazy:
    """A formula that reads a block input's shape (``in.c``): it becomes a number only at
    analysis time, once the shapes of ``needs`` are known (the tensor ``in`` stood for where
    the formula was written, ``source``, and those of the lazy values in ``scope`` it reads).
    ``scope`` holds just the names the formula reads. (A plain class: a dataclass costs start-up
    time, and this one is never compared.)"""

    __slots__ = ("needs", "scope", "source", "text")

    def __init__(self, text: str, scope: Mapping[str, Any], source: str,
                 needs: frozenset[str]) -> None:
        self.text, self.scope, self.source, self.needs = text, scope, source, needs

    def value(self, shapes: Mapping[str, Shape]) -> Any:
        """The number the formula gives at these tensor shapes; each lazy value it reads is
        computed once, in dependency order, without recursion."""
        memo: dict[int, Any] = {}
        stack = [self]
        while stack:  # arguments may chain thousands deep
            lazy = stack[-1]
            if id(lazy) in memo:
                stack.pop()
                continue
            needed = {k: v for k, v in lazy.scope.items() if isinstance(v, _Lazy)}
            pending = [v for v in needed.values() if id(v) not in memo]
            if pending:
                stack += pending
                continue
            scope = {**lazy.scope, **{k: memo[id(v)] for k, v in needed.items()}}
            if lazy.source in shapes:
                shape = shapes[lazy.source]
                scope |= expr.input_scope(shape.c, shape.h, shape.w)
            memo[id(lazy)] = expr.evaluate(lazy.text, scope)
            stack.pop()
        return memo[id(self)]


def _lazy_names(text: str, scope: Mapping[str, Any]) -> dict[str, "_Lazy"]:
    """The lazy values a formula reads, by name."""
    return {k: scope[k] for k in expr.names(text) if isinstance(scope.get(k), _Lazy)}


def _referenced(raw: Any) -> set[str]:
    """The parameter names a setting reads: a bare name, a formula's names, a list's."""
    if isinstance(raw, list):
        return set().union(*(_referenced(v) for v in raw))
    if not isinstance(raw, str):
        return set()
    return {raw} if is_name(raw) else expr.names(raw)


# A split's own path names no tensor: its sections PATH.0, PATH.1, ... do.
_SPLIT = "\0split"


class _Context:
    """Where a sequence of items is expanded: its path ``prefix`` (also where relative 'from:'
    names are looked up first), the tensor ``in`` stands for, the block parameters, whether it
    is a side branch, the lines of the items it is nested in, and the set collecting the kinds
    of the layers directly in it (a residual's projection adds batch norm when its main path
    has one). A plain class, like ``_Lazy``."""

    __slots__ = ("block_input", "kinds", "lines", "prefix", "scope", "side")

    def __init__(self, prefix: str, block_input: str, scope: Mapping[str, Any], side: bool,
                 lines: tuple[int, ...], kinds: set[str]) -> None:
        self.prefix, self.block_input, self.scope = prefix, block_input, scope
        self.side, self.lines, self.kinds = side, lines, kinds

    def inside(self, prefix: str, block_input: str, line: int, *,
               scope: Mapping[str, Any] | None = None, side: bool | None = None,
               kinds: set[str] | None = None) -> "_Context":
        """The context of a sequence nested in this one."""
        return _Context(prefix, block_input, self.scope if scope is None else scope,
                        self.side if side is None else side, (*self.lines, line),
                        set() if kinds is None else kinds)


class _Expander:
    """Expands one parsed file into graph nodes: blocks, repeats, conditions, defaults, paths,
    and the tensors each layer reads."""

    def __init__(self, doc: YMap, file: str, budget: Budget, depth: float = 1.0,
                 scale: str | None = None) -> None:
        self.doc, self.file = doc, file
        self.budget = budget
        self.depth_multiplier = depth
        self.scale = scale
        self.calls: list[str] = []  # the chain of blocks being expanded, to catch cycles
        self.nesting = 0  # block calls and nested sequences entered, across blocks
        self.claims: dict[str, tuple[int, ...]] = {}  # path -> the item lines that made it
        self.nodes: list[Node] = []
        self.tensors: dict[str, str] = {NETWORK_INPUT: NETWORK_INPUT}  # name -> tensor path
        self.unresolved: list[tuple[str, tuple[str, ...], ConvcalcError]] = []

    def architecture(self) -> Architecture:
        doc = self.doc
        _check_keys(doc, TOP_KEYS, "the architecture")
        for key in ("input", "layers"):
            if key not in doc:
                raise ConvcalcError(f"needs a top-level '{key}'", line=1)
        self.defaults = self._read_defaults(doc.get("defaults"), doc.key_lines.get("defaults"))
        self.blocks = self._read_blocks(doc.get("blocks"), doc.key_lines.get("blocks"))
        divisor = doc.get("channel_divisor", 1)
        if type(divisor) is not int or not 1 <= divisor <= 1024:
            raise ConvcalcError(f"channel_divisor {divisor!r} must be a whole number from 1 "
                                "to 1024", line=doc.key_lines.get("channel_divisor"))
        layers_line = doc.key_lines["layers"]
        layers = _sequence(doc["layers"], "'layers'", layers_line)
        text = {k: doc.get(k, "") for k in ("name", "description", "source")}
        for key, value in text.items():
            if not isinstance(value, str):
                raise ConvcalcError(f"'{key}' must be text", line=doc.key_lines[key])
        width, shape = self._read_scale(doc.get("scales"), doc.key_lines.get("scales"))
        top = _Context("", NETWORK_INPUT, {}, False, (), set())
        self._sequence(layers, top, NETWORK_INPUT, 0)
        self._check_unresolved()
        outputs = self._outputs(doc.get("outputs"), doc.key_lines.get("outputs"))
        # A file name may hold what a name in the file may not (ESC): escaped.
        name = text["name"] or one_line(Path(self.file).stem)
        try:
            arch = Architecture(
                name=f"{name}_{self.scale}" if self.scale else name,
                description=" ".join(text["description"].split()),
                source=" ".join(text["source"].split()),
                input=self._input(doc["input"], doc.key_lines["input"]),
                nodes=tuple(self.nodes),
                file=self.file,
                channel_divisor=divisor,
                outputs=outputs,
            )
        except ConvcalcError as e:
            raise e.located(line=doc.key_lines.get("outputs", layers_line)) from None
        if shape is not None:
            arch = dataclasses.replace(arch, input=shape)
        if width != 1:
            from convcalc.variants import with_width  # the one width rule

            arch = with_width(arch, width)
        return arch

    def _read_scale(self, value: Any, line: int | None) -> tuple[float, Shape | None]:
        """The width and input of the scale asked for (1 and None without one), after setting
        its depth multiplier. ``scales:`` maps names to {width, depth, input}, as Ultralytics'
        model files do; each figure defaults to the file's own."""
        scales = _mapping(value, "'scales'", line)
        if self.scale is None:
            return 1.0, None
        if self.scale not in scales:
            raise ConvcalcError(f"has no scale '{self.scale}'{_near(self.scale, scales)}"
                                + (f"; its scales: {', '.join(scales)}" if scales else
                                   " (it declares no 'scales:')"), line=line)
        where = scales.key_lines[self.scale]
        settings = _mapping(scales[self.scale], f"scale '{self.scale}'", where)
        _check_keys(settings, ("width", "depth", "input"), f"scale '{self.scale}'")
        figures = {}
        for key, limit in (("width", MAX_WIDTH), ("depth", MAX_DEPTH_MULTIPLIER)):
            number = settings.get(key, 1.0)
            if isinstance(number, bool) or not isinstance(number, int | float) or not (
                    0 < number <= limit):
                raise ConvcalcError(f"scale '{self.scale}': {key} {number!r} must be a number "
                                    f"above 0 and at most {limit:g}",
                                    line=settings.key_lines.get(key, where))
            figures[key] = float(number)
        self.depth_multiplier *= figures["depth"]
        shape = (self._input(settings["input"], settings.key_lines["input"])
                 if "input" in settings else None)
        return figures["width"], shape

    def _input(self, value: Any, line: int) -> Shape:
        try:
            if isinstance(value, list) and len(value) == 3 and all(
                    type(v) is int for v in value):
                return checked_shape(Shape(*value))
            # 'HxW' and one size 'N' mean three channels, as --input does for an RGB image.
            return parse_shape(str(value), channels=3)
        except ConvcalcError as e:
            raise e.located(line=line) from None

    def _outputs(self, value: Any, line: int | None) -> tuple[str, ...]:
        if value is None:
            return ()
        names = value if isinstance(value, YList) else [value]
        if not names or not all(isinstance(n, str | int) for n in names):
            raise ConvcalcError("'outputs' must be a list of layer paths", line=line)
        out = []
        for name in names:
            tensor = self.tensors.get(str(name))
            if tensor is None or tensor == _SPLIT:
                raise ConvcalcError(f"output '{name}' is no layer of this network"
                                    f"{_near(str(name), self.tensors)}", line=line)
            out.append(tensor)
        return tuple(out)

    def _read_defaults(self, value: Any, line: int | None) -> dict[str, YMap]:
        defaults = _mapping(value, "'defaults'", line)
        for kind, keys in defaults.items():
            if kind not in LAYER_KINDS:
                raise ConvcalcError(
                    f"'defaults' names unknown layer kind '{kind}'"
                    f"{suggestion(kind, LAYER_KINDS, FAMILIAR_NAMES)}",
                    line=defaults.key_lines[kind])
            _check_keys(_mapping(keys, f"defaults for '{kind}'", defaults.key_lines[kind]),
                        tuple(k for k in yaml_keys(LAYER_KINDS[kind])), f"defaults for '{kind}'")
        return {kind: _mapping(keys, "", None) for kind, keys in defaults.items()}

    def _read_blocks(self, value: Any, line: int | None) -> dict[str, YMap]:
        blocks = _mapping(value, "'blocks'", line)
        for name, raw in blocks.items():
            where = blocks.key_lines[name]
            if not is_name(name) or name in LAYER_KINDS or name in GRAPH_KINDS:
                raise ConvcalcError(f"block name '{name}' must be a word that is not a layer "
                                    "kind", line=where)
            body = _mapping(raw, f"block '{name}'", where)
            _check_keys(body, BLOCK_KEYS, f"block '{name}'")
            # A block is a layer sequence (a residual one with 'shortcut'), or parallel
            # 'branches' joined by concat (an Inception module), named by the call.
            if ("layers" in body) == ("branches" in body):
                raise ConvcalcError(f"block '{name}' needs 'layers' or 'branches' (not both)",
                                    line=where)
            if "branches" in body and ("shortcut" in body or "after" in body):
                raise ConvcalcError(f"block '{name}' with 'branches' takes no 'shortcut' or "
                                    "'after'", line=where)
            args = _mapping(body.get("args"), f"'args' of block '{name}'", where)
            for arg in args:
                if not is_name(arg) or arg in RESERVED:
                    raise ConvcalcError(f"block argument '{arg}' must be a word other than "
                                        f"{' and '.join(RESERVED)}", line=args.key_lines[arg])
        return dict(blocks)

    # -- items -------------------------------------------------------------------------------

    def _enter(self, line: int) -> None:
        """One more level of nesting (a block call or a nested sequence), counted across
        blocks, so that no file can exhaust the stack however its blocks call each other."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ConvcalcError(f"blocks and nested layer lists go deeper than {MAX_NESTING} "
                                "levels", line=line)

    def _sequence(self, items: YList, ctx: _Context, source: str | None,
                  first_index: int) -> str | None:
        """Expand a list of items reading ``source``; each item reads the one before unless
        it says 'from:'. The tensor the last item produces (None right after a split)."""
        current = source
        for index, item in enumerate(items):
            line = items.lines[index]
            kind, body, modifiers = self._split_item(item, line, ctx.scope)
            name = body.get("name") if body is not None else None
            if name is not None and (not isinstance(name, str) or not is_name(name)
                                     or name in RESERVED):
                raise ConvcalcError(f"name {name!r} must be a word (letters, digits, _) other "
                                    f"than {' and '.join(RESERVED)}",
                                    line=body.key_lines["name"] if body else line)
            path = f"{ctx.prefix}.{name or first_index + index}".lstrip(".")
            self.budget.charge("items", line=line)  # skipped or empty ones too
            if "if" in modifiers and not self._condition(modifiers["if"], ctx,
                                                         modifiers.key_lines["if"]):
                continue
            if "repeat" not in modifiers:
                for key in ("first", "scale_repeat"):
                    if key in modifiers:
                        raise ConvcalcError(f"'{key}' goes with 'repeat'", line=line)
                current = self._item(kind, body, ctx, path, line, current)
                continue
            count = self._repeat_count(modifiers, ctx.scope)
            first = _mapping(modifiers.get("first"), "'first'", line)
            for copy in range(count):
                if copy:
                    self.budget.charge("items", line=line)
                merged = body
                if copy == 0 and first:
                    merged = YMap({**(body or {}), **first})
                    merged.line = line
                    merged.key_lines = {**(body.key_lines if body else {}), **first.key_lines}
                current = self._item(kind, merged, ctx, f"{path}.{copy}", line, current)
        return current

    def _split_item(self, item: Any, line: int,
                    scope: Mapping[str, Any]) -> tuple[str, YMap | None, YMap]:
        """(kind, its arguments, the modifiers) of one list item; a kind named by a block
        argument (``act: hardswish``, then ``- act``) is replaced by the argument's value."""
        if isinstance(item, str):
            empty = YMap()
            empty.line, empty.key_lines = line, {}
            return self._kind_argument(item, scope, line), None, empty
        if not isinstance(item, YMap):
            raise ConvcalcError(f"a layer must be a kind such as 'relu' or a mapping such as "
                                f"'conv: {{...}}', not {item!r}", line=line)
        kinds = [k for k in item if k not in ITEM_MODIFIERS]
        if len(kinds) != 1:
            raise ConvcalcError(
                "a layer item needs exactly one layer kind or block name, found "
                + (", ".join(f"'{k}'" for k in kinds) or "none"), line=line)
        modifiers = YMap({k: item[k] for k in ITEM_MODIFIERS if k in item})
        modifiers.line, modifiers.key_lines = line, item.key_lines
        body = item[kinds[0]]
        if body is not None and not isinstance(body, YMap):
            raise ConvcalcError(f"'{kinds[0]}' must be followed by a mapping of its settings, "
                                f"not {body!r}", line=item.key_lines[kinds[0]])
        return self._kind_argument(kinds[0], scope, line), body, modifiers

    def _kind_argument(self, kind: str, scope: Mapping[str, Any], line: int) -> str:
        """A kind written as a block argument's name stands for the argument's value; a real
        kind or block name keeps its meaning (an argument may be called 'dropout')."""
        if kind in scope and kind not in LAYER_KINDS and kind not in self.blocks and (
                kind not in GRAPH_KINDS):
            value = scope[kind]
            if not isinstance(value, str) or not is_name(value):
                raise ConvcalcError(f"'{kind}' is used as a layer kind, but the argument is "
                                    f"{value!r}, not a kind or block name", line=line)
            return value
        return kind

    def _condition(self, value: Any, ctx: _Context, line: int) -> bool:
        try:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value in ctx.scope and isinstance(
                    ctx.scope[value], bool):
                return bool(ctx.scope[value])
            if not isinstance(value, str):
                raise ConvcalcError(f"if {value!r} must be true, false or a formula such as "
                                    "'expansion != 1'")
            if _lazy_sources(value, ctx.scope, ctx.block_input):
                raise ConvcalcError(f"if '{value}' reads the input shape; 'if:' may read only "
                                    "block arguments")
            return expr.condition(value, ctx.scope)
        except ConvcalcError as e:
            raise e.located(line=line) from None

    def _repeat_count(self, modifiers: YMap, scope: Mapping[str, Any]) -> int:
        line = modifiers.key_lines["repeat"]
        try:
            value = modifiers["repeat"]
            if isinstance(value, str) and _lazy_sources(value, scope, ""):
                raise ConvcalcError(f"repeat '{value}' reads the input shape; a repeat count "
                                    "may read only block arguments")
            count: int = _coerce(value, int, scope, "repeat")
            scaled = modifiers.get("scale_repeat", True)
            if not isinstance(scaled, bool):
                raise ConvcalcError(f"scale_repeat {scaled!r} must be true or false")
        except ConvcalcError as e:
            raise e.located(line=line) from None
        if not 1 <= count <= MAX_REPEAT:
            raise ConvcalcError(f"repeat {count} must be between 1 and {MAX_REPEAT:,}", line=line)
        if scaled and self.depth_multiplier != 1:
            # EfficientNet's depth rule: int(math.ceil(num_layers * depth_mult)).
            count = math.ceil(count * self.depth_multiplier)
            if count > MAX_REPEAT:
                raise ConvcalcError(f"repeat {count} (scaled by the depth multiplier) is more "
                                    f"than {MAX_REPEAT:,}", line=line)
        return count

    def _item(self, kind: str, body: YMap | None, ctx: _Context, path: str, line: int,
              current: str | None) -> str | None:
        body = _mapping(body, f"'{kind}'", line)
        sources = self._from(body, ctx, current, path, kind, line)
        if kind == "concat" and "branches" in body:
            _check_keys(body, ("name", "from", "branches"), "'concat'")
            return self._branches(body.get("branches"), body.key_lines.get("branches", line),
                                  ctx, path, line, self._one(sources, path, kind, line))
        if kind in LAYER_KINDS:
            return self._layer(kind, body, ctx, path, line, sources)
        if kind in self.blocks:
            out = self._call_block(kind, body, ctx, path, line,
                                   self._one(sources, path, kind, line))
        elif kind in ("residual", "group"):
            _check_keys(body, ("from", *BODY_KEYS) if kind == "residual" else
                        ("name", "from", "layers"), f"'{kind}'")
            source = self._one(sources, path, kind, line)
            self._enter(line)
            out = self._body(body, ctx.inside(path, source, line, kinds=ctx.kinds), path,
                             line, f"'{kind}'", "auto" if kind == "residual" else None, source)
            self.nesting -= 1
        elif kind == "side":
            _check_keys(body, ("name", "from", "layers"), "'side'")
            layers = _sequence(body.get("layers"), "'layers' of 'side'", line)
            source = self._one(sources, path, kind, line)
            self._enter(line)
            end = self._sequence(layers, ctx.inside(path, source, line, side=True), source, 0)
            self.nesting -= 1
            self._alias(path, end)
            return current  # the main path goes on from where it was
        else:
            known = [*LAYER_KINDS, *self.blocks, *GRAPH_KINDS]
            raise ConvcalcError(f"unknown layer kind or block '{kind}'"
                                f"{_near(kind, known, FAMILIAR_NAMES)}", line=line)
        self._alias(path, out)
        return out

    # -- reading tensors ---------------------------------------------------------------------

    def _from(self, body: YMap, ctx: _Context, current: str | None, path: str, kind: str,
              line: int) -> list[str]:
        """The tensors an item reads: its 'from:' list, else the current tensor."""
        if "from" not in body:
            if current is None:
                raise ConvcalcError("follows a split; say which section it reads with "
                                    "'from: NAME.0'", line=line, path=path, kind=kind)
            return [current]
        raw = body["from"]
        where = body.key_lines["from"]
        names = raw if isinstance(raw, YList) else [raw]
        if not names or not all(isinstance(n, str | int) and not isinstance(n, bool)
                                for n in names):
            raise ConvcalcError(f"from {raw!r} must name a layer path, or be a list of them",
                                line=where, path=path, kind=kind)
        return [self._resolve(str(n), ctx, where, path, kind) for n in names]

    def _resolve(self, name: str, ctx: _Context, line: int, path: str, kind: str) -> str:
        """The tensor a 'from:' name means: 'input' (the network input), 'in' (the input of the
        enclosing block), or a layer path looked up inside the enclosing blocks first, then
        outward to the top."""
        if name == "in":
            return ctx.block_input
        candidates = _candidates(name, ctx.prefix)
        for candidate in candidates:
            tensor = self.tensors.get(candidate)
            if tensor == _SPLIT:
                raise ConvcalcError(f"reads the split '{candidate}' itself; read one of its "
                                    f"sections, '{candidate}.0', '{candidate}.1', ...",
                                    line=line, path=path, kind=kind)
            if tensor is not None:
                return tensor
        # Unknown so far: a later layer (an error) or no layer at all; told apart at the end.
        error = ConvcalcError(f"reads '{name}', which is no layer before it", line=line,
                              path=path, kind=kind)
        self.unresolved.append((name, candidates, error))
        return f"\0{name}"

    def _check_unresolved(self) -> None:
        for name, candidates, error in self.unresolved:
            if any(c in self.tensors for c in candidates):
                raise ConvcalcError(f"reads '{name}', which comes later; a layer may read only "
                                    "layers before it (a cycle is not a network)",
                                    line=error.line, path=error.path, kind=error.kind)
            raise ConvcalcError(f"{error.message}{_near(name, self.tensors)}", line=error.line,
                                path=error.path, kind=error.kind)

    def _one(self, sources: list[str], path: str, kind: str, line: int) -> str:
        if len(sources) != 1:
            raise ConvcalcError(f"reads {len(sources)} tensors; '{kind}' reads one (list "
                                "several only for add, mul, concat and upsample)", line=line,
                                path=path, kind=kind)
        return sources[0]

    def _alias(self, path: str, tensor: str | None) -> None:
        """Let 'from: PATH' of a block, group or side name the tensor it ends with."""
        if tensor is not None and path not in self.tensors:
            self.tensors[path] = tensor

    def _emit(self, node: Node) -> str:
        self.nodes.append(node)
        self.tensors[node.path] = node.path
        return node.path

    def _claim(self, path: str, ctx: _Context, line: int, kind: str) -> None:
        lines = (*ctx.lines, line)
        if path in self.claims:
            # Name the lines where the two expansions part: the two calls, or the two items.
            first = self.claims[path]
            here, there = next(((a, b) for a, b in zip(lines, first, strict=False) if a != b),
                               (line, first[-1]))
            raise ConvcalcError(f"the path is used twice (also on line {there}); give one of "
                                "them another 'name'", line=here, path=path, kind=kind)
        self.claims[path] = lines
        self.budget.charge("layers", line=line)

    # -- layers ------------------------------------------------------------------------------

    def _layer(self, kind: str, body: YMap, ctx: _Context, path: str, line: int,
               sources: list[str]) -> str | None:
        cls = LAYER_KINDS[kind]
        _check_keys(body, ("name", "from", *YAML_KEYS[cls]), f"a '{kind}' layer")
        raws: list[tuple[str, Any, int]] = []
        for source in (self.defaults.get(kind) or _mapping(None, "", line), body):
            for key, raw in source.items():
                if key not in ("name", "from"):
                    raws.append((key, raw, source.key_lines.get(key, line)))
        inputs = sources if issubclass(cls, Merge) else [self._one(sources, path, kind, line)]
        found: set[str] = set()
        for _, raw, key_line in raws:
            try:
                found |= _lazy_sources(raw, ctx.scope, ctx.block_input)
            except ConvcalcError as e:
                raise e.located(line=key_line, path=path, kind=kind) from None
        lazy = sorted(found)
        ctx.kinds.add(kind)
        if lazy:
            if issubclass(cls, Merge) or getattr(cls, "parallel", False):
                raise ConvcalcError(f"'{kind}' settings cannot read the input shape (in.c); "
                                    "give numbers or block arguments", line=line, path=path,
                                    kind=kind)
            scope, block_input = ctx.scope, ctx.block_input

            needed = set().union(*(_referenced(raw) for _, raw, _ in raws))

            def build(shapes: tuple[Shape, ...]) -> tuple[tuple[str, Layer], ...]:
                known = dict(zip(lazy, shapes[1:], strict=True))
                values = {k: v.value(known) if isinstance(v, _Lazy) and k in needed else v
                          for k, v in scope.items()}
                if block_input in known:
                    shape = known[block_input]
                    values |= expr.input_scope(shape.c, shape.h, shape.w)
                return _parts(self._build(kind, raws, values, path, line))

            self._claim(path, ctx, line, kind)
            return self._emit(Node(path, line, Deferred(kind=kind, build=build),
                                   (inputs[0], *lazy), ctx.side))
        layer = self._build(kind, raws, ctx.scope, path, line)
        parts = _parts(layer)
        if getattr(layer, "parallel", False):  # a split: sections side by side
            for suffix, part in parts:
                self._claim(f"{path}.{suffix}", ctx, line, kind)
                self._emit(Node(f"{path}.{suffix}", line, part, (inputs[0],), ctx.side))
            self.tensors[path] = _SPLIT
            return None
        tensor = None
        for suffix, part in parts:
            part_path = f"{path}.{suffix}" if suffix else path
            self._claim(part_path, ctx, line, kind)
            tensor = self._emit(Node(part_path, line, part, tuple(inputs), ctx.side))
            inputs = [tensor]
        self._alias(path, tensor)
        return tensor

    def _build(self, kind: str, raws: list[tuple[str, Any, int]], scope: Mapping[str, Any],
               path: str, line: int) -> Layer | Merge:
        """The layer of one item from its settings, located errors for bad ones."""
        cls = LAYER_KINDS[kind]
        types_ = FIELD_TYPES[cls]
        values: dict[str, Any] = {}
        for key, raw, key_line in raws:
            try:
                values[key] = _coerce(raw, types_[key], scope, key)
            except ConvcalcError as e:
                raise e.located(line=key_line, path=path, kind=kind) from None
        try:
            return cls(kind=kind, **values)
        except TypeError:
            missing = [f.name for f in dataclasses.fields(cls) if f.name not in values
                       and f.default is dataclasses.MISSING and f.name != "kind"]
            raise ConvcalcError(f"needs {', '.join(repr(m) for m in missing)}", line=line,
                                path=path, kind=kind) from None
        except ConvcalcError as e:
            raise e.located(line=line, path=path, kind=kind) from None

    # -- blocks and sugar --------------------------------------------------------------------

    def _call_block(self, name: str, body: YMap, ctx: _Context, path: str, line: int,
                    source: str) -> str | None:
        if name in self.calls:
            chain = " -> ".join([*self.calls[self.calls.index(name):], name])
            raise ConvcalcError(f"block '{name}' uses itself ({chain})", line=line, path=path,
                                kind=name)
        block = self.blocks[name]
        params = _mapping(block.get("args"), "", None)
        _check_keys(body, ("name", "from", *params), f"a call of block '{name}'")
        args: dict[str, Any] = {}
        for key, default in params.items():
            try:
                if key in body:
                    args[key] = _argument(body[key], ctx.scope, ctx.block_input)
                elif default is None:
                    raise ConvcalcError(f"block '{name}' needs argument '{key}'", line=line)
                else:
                    # A default may be a formula over the arguments before it.
                    args[key] = _argument(default, args, source)
            except ConvcalcError as e:
                raise e.located(line=body.key_lines.get(key, line), path=path,
                                kind=name) from None
        self.calls.append(name)
        self._enter(line)
        inner = ctx.inside(path, source, line, scope=args, kinds=ctx.kinds)
        if "branches" in block:
            out: str | None = self._branches(block["branches"], block.key_lines["branches"],
                                             inner, path, line, source)
        else:
            out = self._body(block, inner, path, line, f"block '{name}'", None, source)
        self.calls.pop()
        self.nesting -= 1
        return out

    def _body(self, body: YMap, ctx: _Context, path: str, line: int, what: str,
              default_shortcut: str | None, source: str) -> str | None:
        """A block's or a residual's layers; with a shortcut, the add (and projection) of a
        residual, then its 'after' layers."""
        layers = _sequence(body.get("layers"), f"'layers' of {what}", body.line or line)
        shortcut = body.get("shortcut", default_shortcut)
        if shortcut is None:
            if "after" in body:
                raise ConvcalcError(f"'after' in {what} goes with 'shortcut'", line=line)
            return self._sequence(layers, ctx, source, 0)
        shortcut_line = body.key_lines.get("shortcut", line)
        if not isinstance(shortcut, YList) and shortcut not in SHORTCUTS:
            raise ConvcalcError(f"shortcut {shortcut!r} must be one of {', '.join(SHORTCUTS)} "
                                "or a list of layers", line=shortcut_line, path=path)
        outer_kinds = ctx.kinds
        main_ctx = _Context(ctx.prefix, ctx.block_input, ctx.scope, ctx.side, ctx.lines, set())
        main = self._sequence(layers, main_ctx, source, 0)
        if main is None:
            raise ConvcalcError(f"the layers of {what} end with a split; end them with a "
                                "layer that reads its sections", line=line, path=path)
        add_path, down_path = f"{path}.add", f"{path}.downsample"
        self._claim(add_path, ctx, line, "residual")
        self._claim(down_path, ctx, line, "residual")
        if isinstance(shortcut, YList):
            skip = self._sequence(shortcut, main_ctx.inside(down_path, source, line), source, 0)
            if skip is None:
                raise ConvcalcError("the shortcut's layers end with a split", line=line,
                                    path=path)
        elif shortcut in ("identity", "if_same"):
            skip = source
        else:
            conv_defaults: Mapping[str, Any] = self.defaults.get("conv", {})
            projection = Shortcut(mode=shortcut, bias=bool(conv_defaults.get("bias", True)),
                                  norm="batchnorm" in main_ctx.kinds)
            skip = self._emit(Node(down_path, line, projection, (source, main), ctx.side))
        self._emit(Node(add_path, line, Add(optional=shortcut == "if_same"), (main, skip),
                        ctx.side))
        after = body.get("after")
        if after is None:
            return add_path
        after = _sequence(after, f"'after' of {what}", body.key_lines["after"])
        after_ctx = _Context(ctx.prefix, ctx.block_input, ctx.scope, ctx.side, ctx.lines,
                             outer_kinds)
        return self._sequence(after, after_ctx, add_path, len(layers))

    def _branches(self, raw: Any, where: int, ctx: _Context, path: str, line: int,
                  source: str) -> str:
        """Parallel branches of layers on one input, joined by a concat at ``path.concat``."""
        if isinstance(raw, YMap):
            named = [(k, raw[k], raw.key_lines[k]) for k in raw]
        elif isinstance(raw, YList):
            named = [(str(i), b, raw.lines[i]) for i, b in enumerate(raw)]
        else:
            raise ConvcalcError("'concat' needs 'branches': a list of layer lists, or a "
                                "mapping of branch names to layer lists", line=where, path=path)
        if len(named) < 2:
            raise ConvcalcError("'concat' needs at least two branches", line=where, path=path)
        outs = []
        for name, layers, branch_line in named:
            items = _sequence(layers, f"branch '{name}'", branch_line)
            self._enter(branch_line)
            out = self._sequence(items, ctx.inside(f"{path}.{name}", source, branch_line),
                                 source, 0)
            self.nesting -= 1
            if out is None:
                raise ConvcalcError(f"branch '{name}' ends with a split", line=branch_line,
                                    path=path)
            outs.append(out)
        self._claim(f"{path}.concat", ctx, line, "concat")
        return self._emit(Node(f"{path}.concat", line, Concat(), tuple(outs), ctx.side))


def _candidates(name: str, prefix: str) -> tuple[str, ...]:
    """Where a relative 'from:' name may live: inside the enclosing block, then each block
    around it, then at the top."""
    parts = prefix.split(".") if prefix else []
    return tuple(".".join([*parts[:i], name]) for i in range(len(parts), -1, -1))


def _parts(layer: Layer | Merge) -> tuple[tuple[str, Any], ...]:
    """The (path suffix, layer) parts a layer stands for: itself, or what its shorthand
    expands to (separable -> dw, pw; split -> its sections)."""
    expand = getattr(layer, "expand", None)
    return expand() if expand is not None else (("", layer),)


def _near(word: str, choices: Any, familiar: Mapping[str, str] | None = None) -> str:
    """``suggestion`` over at most a few hundred candidates, so that a hint stays instant among
    tens of thousands of names: those difflib could accept at all (lengths within its 0.6
    ratio), sharing the first letter first."""
    target = (familiar or {}).get(word.lower())
    near = [c for c in choices if c == target or (
        not c.startswith("\0") and 2 * min(len(c), len(word)) >= 0.6 * (len(c) + len(word)))]
    near.sort(key=lambda c: (c != target, c[:1] != word[:1]))
    return suggestion(word, near[:500], familiar)


def _lazy_sources(raw: Any, scope: Mapping[str, Any], block_input: str) -> set[str]:
    """The tensors whose shapes a setting waits for: none for a plain value; for a formula
    that reads ``in.c`` or a lazy argument, the tensors those read."""
    if isinstance(raw, _Lazy):
        return set(raw.needs)
    if isinstance(raw, list):
        return set().union(*(_lazy_sources(v, scope, block_input) for v in raw))
    if not isinstance(raw, str):
        return set()
    if raw in scope:
        return _lazy_sources(scope[raw], {}, block_input)
    if is_name(raw):
        return set()
    found: set[str] = set()
    for value in _lazy_names(raw, scope).values():
        found |= value.needs
    if expr.uses_input(raw):
        found.add(block_input)
    return found


def _argument(value: Any, scope: Mapping[str, Any], block_input: str) -> Any:
    """A block argument as the caller wrote it: names and formulas over the caller's own
    parameters are evaluated here (a formula reading ``in.c`` when the shapes are known);
    other words ('same', 'hardswish') are passed on as they are."""
    if isinstance(value, list):
        return [_argument(v, scope, block_input) for v in value]
    if isinstance(value, str):
        if value in scope:
            return scope[value]
        if not is_name(value):
            needs = _lazy_sources(value, scope, block_input)
            if needs:
                read = {k: scope[k] for k in expr.names(value) if k in scope}
                return _Lazy(value, read, block_input, frozenset(needs))
            return expr.evaluate(value, scope)
    return value


def _coerce(value: Any, expected: Any, scope: Mapping[str, Any], key: str) -> Any:
    """A YAML value as the layer field's type, evaluating names and arithmetic in scope."""
    if isinstance(value, str) and value in scope:
        return _coerce(scope[value], expected, {}, key)
    if expected is int:
        number = expr.evaluate(value, scope) if isinstance(value, str) else value
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if type(number) is not int:
            raise ConvcalcError(f"{key} {_shown(value, number)} must be a whole number")
        return number
    if expected is float:
        number = expr.evaluate(value, scope) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ConvcalcError(f"{key} {value!r} must be a number")
        return number
    if expected is bool:
        if not isinstance(value, bool):
            raise ConvcalcError(f"{key} {value!r} must be true or false")
        return value
    if expected in (Pair, FloatPair):
        number_type = int if expected == Pair else float
        if isinstance(value, list):
            if len(value) != 2:
                raise ConvcalcError(f"{key} {value!r} must be one number or [h, w]")
            return tuple(_coerce(v, number_type, scope, key) for v in value)
        number = _coerce(value, number_type, scope, key)
        return number, number
    if expected == Padding:
        if value in ("same", "valid"):
            return value
        if isinstance(value, list):
            if len(value) not in (2, 4):
                raise ConvcalcError(f"padding {value!r} must be [h, w] or "
                                    "[top, bottom, left, right]")
            return tuple(_coerce(v, int, scope, key) for v in value)
        if isinstance(value, str) and is_name(value) and value not in scope:
            raise ConvcalcError(f"padding '{value}' must be a number, 'same' or 'valid'"
                                f"{suggestion(value, ['same', 'valid', *scope])}")
        return _coerce(value, int, scope, key)
    if expected == WidthScale:
        # `is`, not `in`: 1 == True, and `scale: 1` must not pass for true.
        if not any(value is v for v in (True, False)) and value != "up":
            raise ConvcalcError(f"scale {value!r} must be true, false or 'up'")
        return value
    if expected is str:
        if not isinstance(value, str):
            raise ConvcalcError(f"{key} {value!r} must be a word")
        return value
    if expected == Sections:
        if isinstance(value, list):
            return tuple(_coerce(v, int, scope, key) for v in value)
        return _coerce(value, int, scope, key)
    if get_origin(expected) in (Union, types.UnionType) and type(None) in get_args(expected):
        return None if value is None else _coerce(
            value, next(t for t in get_args(expected) if t is not type(None)), scope, key)
    raise TypeError(f"no YAML reader for field type {expected!r}")  # a bug in layers.py


def _shown(written: Any, value: Any) -> str:
    return f"'{written}' = {value!r}" if isinstance(written, str) else repr(written)
