"""YAML architecture files -> ``Architecture``: the only reader of files.

``load`` finds and reads a file (a path, or the name of a built-in architecture); ``parse``
turns its text into an ``Architecture``: it keeps the line of every key, checks keys against
the layer dataclasses, expands blocks and repeats, evaluates parameter arithmetic and names
every layer with a dotted path. YAML is read with PyYAML's safe loader only.
"""

import dataclasses
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml

from convcalc.architecture import Architecture, Branches, Leaf, Node, Residual, Side
from convcalc.errors import ConvcalcError, suggestion
from convcalc.expr import evaluate, is_name
from convcalc.inputs import read_input
from convcalc.layers import FAMILIAR_NAMES, LAYER_KINDS, Padding, WidthScale, yaml_keys
from convcalc.limits import (
    MAX_FILE_BYTES,
    MAX_NESTING,
    MAX_NUMBER_CHARS,
    MAX_REPEAT,
    Budget,
)
from convcalc.shapes import Pair, Shape, checked_shape, parse_shape

TOP_KEYS = ("name", "description", "source", "input", "channel_divisor", "defaults", "blocks",
            "layers")
BODY_KEYS = ("name", "layers", "shortcut", "after")
BLOCK_KEYS = ("args", "layers", "shortcut", "after", "branches")
GRAPH_KINDS = ("residual", "concat", "side", "group")
SHORTCUTS = ("auto", "identity", "projection", "if_same")
ITEM_MODIFIERS = ("repeat", "first")
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


def builtin_dirs() -> list[Path]:
    """Where built-in architectures live: inside the installed package (the wheel carries
    architectures/ there), or beside the package in a source checkout."""
    package = Path(__file__).resolve().parent
    return [package / "architectures", package.parent / "architectures"]


def builtin_names() -> list[str]:
    """Names of the built-in architectures, in natural order (resnet18 before resnet101)."""
    names = {p.stem for d in builtin_dirs() if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names, key=lambda n: [int(t) if t.isdigit() else t
                                        for t in re.split(r"(\d+)", n)])


def locate(source: str | Path) -> Path:
    """The file for a path, or for the name of a built-in architecture."""
    path = Path(source)
    try:
        if path.suffix in (".yaml", ".yml") or path.exists() or len(path.parts) > 1:
            return path
        for directory in builtin_dirs():
            if (directory / f"{source}.yaml").is_file():
                return directory / f"{source}.yaml"
    except OSError as e:  # a name longer than the file system allows: Path.exists raises
        raise ConvcalcError(f"cannot read: {e.strerror or e}", file=str(source)) from None
    hint = suggestion(str(source), builtin_names())
    raise ConvcalcError(f"no file and no built-in architecture named '{source}'{hint}; "
                        "'convcalc list' shows the built-in ones")


def load(source: str | Path) -> Architecture:
    """Read an architecture from a YAML file or by built-in name ('resnet50')."""
    path = locate(source)
    shown = path.name if path.parent in builtin_dirs() else str(source)
    data = read_input(path, MAX_FILE_BYTES, "architecture files", shown=shown)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConvcalcError("is not UTF-8 text; is it a YAML file?", file=shown) from None
    return parse(text, file=shown)


def parse(text: str, file: str = "<string>") -> Architecture:
    """An ``Architecture`` from YAML text; ``file`` is the name used in error messages."""
    try:
        budget = Budget()
        doc = _read_yaml(text, budget)
        return _Expander(doc, file, budget).architecture()
    except ConvcalcError as e:
        raise e.located(file=file) from None


def _read_yaml(text: str, budget: Budget) -> YMap:
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
        raise ConvcalcError("is empty; an architecture needs 'input' and 'layers'")
    if not isinstance(doc, YMap):
        raise ConvcalcError("must be a mapping with 'input' and 'layers' at the top", line=1)
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
    stack: list[_Open] = []
    count = 0
    root: Any = None
    documents = 0
    for event in events:
        mark = event.start_mark
        line = mark.line + 1 if mark else 0
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise ConvcalcError("holds more than one YAML document ('---'); an "
                                    "architecture file holds one", line=line)
            continue
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                anchors[done.anchor] = (done.value, count - done.start, done.height)
            value, height, line = done.value, done.height, done.value.line
        elif isinstance(event, yaml.AliasEvent):
            name = event.anchor or ""
            if name not in anchors:
                inside = any(o.anchor == name for o in stack)
                raise ConvcalcError(f"alias '*{name}' " + (
                    "is inside the value it names" if inside else "names no anchor ('&') "
                    "before it"), line=line)
            value, size, height = anchors[name]
            count += size
            budget.charge("yaml_values", size, line=line)
            if len(stack) + height > MAX_NESTING:
                raise ConvcalcError(f"is nested deeper than {MAX_NESTING} levels", line=line)
        elif isinstance(event, yaml.ScalarEvent | yaml.MappingStartEvent
                        | yaml.SequenceStartEvent):
            count += 1
            budget.charge("yaml_values", line=line)
            tag = _tag(event, resolver, line)
            if isinstance(event, yaml.ScalarEvent):
                parent = stack[-1] if stack else None
                key = parent.key if parent is not None and parent.has_key else None
                try:
                    value = _scalar(tag, event.value, key)
                except ConvcalcError as e:
                    raise e.located(line=line) from None
                height = 0
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1, 0)
            else:
                if len(stack) >= MAX_NESTING:
                    raise ConvcalcError(f"is nested deeper than {MAX_NESTING} levels",
                                        line=line)
                container: YMap | YList
                if isinstance(event, yaml.MappingStartEvent):
                    container = YMap()
                    container.key_lines = {}
                else:
                    container = YList()
                    container.lines = []
                container.line = line
                stack.append(_Open(container, event.anchor, count - 1))
                continue
        else:  # stream and document ends
            continue
        if not stack:
            root = value
            continue
        _add(stack[-1], value, height, line)
    return root


def _tag(event: Any, resolver: Any, line: int) -> str:
    """The short name ('int', 'map', ...) of a plain YAML type an event has, explicitly or by
    YAML 1.1's rules; any other tag is refused."""
    kind, shape = EVENT_SHAPES[type(event)]
    tag = event.tag
    if tag is None or tag == "!":
        tag = resolver.resolve(kind, getattr(event, "value", None), event.implicit)
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


def _scalar(tag: str, text: str, key: str | None) -> Any:
    """The value of one YAML scalar, read by its (implicit or explicit) tag.

    PyYAML's own constructor raises ValueError, KeyError or AttributeError on a tag whose text
    does not fit (`!!int abc`, `!!bool maybe`), on invalid dates (2001-13-45) and on integers
    past Python's 4,300 digits; this reads the same YAML 1.1 forms and refuses the rest."""
    if tag == "str":
        return text
    shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "..."
    what = {"null": "null", "bool": "true or false", "int": "a whole number",
            "float": "a number", "timestamp": "a date"}[tag]
    # YAML 1.1 writes floats with a dot, but `!!float 8` is 8.0, so floats are checked by
    # reading them; the other types by the pattern an untagged value would have to match.
    pattern = TAG_PATTERNS[YAML_TAG + tag] if tag != "float" else None
    if pattern is not None and not pattern.match(text):
        raise ConvcalcError(f"{shown} is tagged '!!{tag}' but is not {what}")
    if tag == "null":
        return None
    if tag == "bool":
        return BOOLEANS[text.lower()]
    if tag == "timestamp":
        if key in TEXT_KEYS:
            return text
        raise ConvcalcError(f"{shown} is a date to YAML, and no setting takes a date; "
                            "write a number")
    if ":" in text:  # YAML 1.1's base 60: 1:30 is 90
        raise ConvcalcError(f"{shown} is a base-60 number to YAML 1.1 (1:30 reads as 90); "
                            "write the number itself, or quote it if it is text")
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
        raise ConvcalcError(f"{shown} is tagged '!!{tag}' but is not {what}") from None


def _check_keys(mapping: YMap, allowed: tuple[str, ...], what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise ConvcalcError(
                f"unknown key '{key}' in {what}{suggestion(key, allowed, FAMILIAR_NAMES)}; "
                f"allowed: {', '.join(allowed)}",
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


class _Expander:
    """Expands one parsed file into nodes: blocks, repeats, defaults and paths."""

    def __init__(self, doc: YMap, file: str, budget: Budget) -> None:
        self.doc, self.file = doc, file
        self.budget = budget
        self.calls: list[str] = []  # the chain of blocks being expanded, to catch cycles
        self.paths: dict[str, int | None] = {}

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
        layers = _sequence(doc["layers"], "'layers'", doc.key_lines["layers"])
        text = {k: doc.get(k, "") for k in ("name", "description", "source")}
        for key, value in text.items():
            if not isinstance(value, str):
                raise ConvcalcError(f"'{key}' must be text", line=doc.key_lines[key])
        return Architecture(
            name=text["name"] or Path(self.file).stem,
            description=" ".join(text["description"].split()),
            source=" ".join(text["source"].split()),
            input=self._input(doc["input"], doc.key_lines["input"]),
            layers=tuple(self._items(layers, {}, "", 0)),
            file=self.file,
            channel_divisor=divisor,
        )

    def _input(self, value: Any, line: int) -> Shape:
        try:
            if isinstance(value, list) and len(value) == 3 and all(
                    type(v) is int for v in value):
                return checked_shape(Shape(*value))
            return parse_shape(str(value))
        except ConvcalcError as e:
            raise e.located(line=line) from None

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
                if not is_name(arg):
                    raise ConvcalcError(f"block argument '{arg}' must be a word",
                                        line=args.key_lines[arg])
        return dict(blocks)

    # -- items -------------------------------------------------------------------------------

    def _items(self, items: YList, scope: Mapping[str, Any], prefix: str,
               first_index: int) -> list[Node]:
        if len(self.calls) > MAX_NESTING:
            raise ConvcalcError(f"blocks nest deeper than {MAX_NESTING} levels", line=items.line)
        nodes: list[Node] = []
        for index, item in enumerate(items):
            line = items.lines[index]
            kind, body, modifiers = self._split_item(item, line)
            name = body.get("name") if body is not None else None
            if name is not None and (not isinstance(name, str) or not is_name(name)):
                raise ConvcalcError(f"name {name!r} must be a word (letters, digits, _)",
                                    line=body.key_lines["name"] if body else line)
            path = f"{prefix}.{name or first_index + index}".lstrip(".")
            if "repeat" not in modifiers:
                if "first" in modifiers:
                    raise ConvcalcError("'first' goes with 'repeat'", line=line)
                nodes += self._item(kind, body, scope, path, line)
                continue
            count = self._repeat_count(modifiers["repeat"], scope, modifiers.key_lines["repeat"])
            first = _mapping(modifiers.get("first"), "'first'", line)
            for copy in range(count):
                merged = body
                if copy == 0 and first:
                    merged = YMap({**(body or {}), **first})
                    merged.line = line
                    merged.key_lines = {**(body.key_lines if body else {}), **first.key_lines}
                nodes += self._item(kind, merged, scope, f"{path}.{copy}", line)
        return nodes

    def _split_item(self, item: Any, line: int) -> tuple[str, YMap | None, YMap]:
        """(kind, its arguments, repeat/first) of one list item."""
        if isinstance(item, str):
            empty = YMap()
            empty.line, empty.key_lines = line, {}
            return item, None, empty
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
        return kinds[0], body, modifiers

    def _repeat_count(self, value: Any, scope: Mapping[str, Any], line: int) -> int:
        try:
            count: int = _coerce(value, int, scope, "repeat")
        except ConvcalcError as e:
            raise e.located(line=line) from None
        if not 1 <= count <= MAX_REPEAT:
            raise ConvcalcError(f"repeat {count} must be between 1 and {MAX_REPEAT:,}", line=line)
        return count

    def _item(self, kind: str, body: YMap | None, scope: Mapping[str, Any], path: str,
              line: int) -> list[Node]:
        body = _mapping(body, f"'{kind}'", line)
        if kind in LAYER_KINDS:
            return self._leaves(kind, body, scope, path, line)
        if kind in self.blocks:
            return self._call_block(kind, body, scope, path, line)
        if kind in ("residual", "group"):
            _check_keys(body, BODY_KEYS if kind == "residual" else ("name", "layers"),
                        f"'{kind}'")
            return self._body(body, scope, path, line, f"'{kind}'",
                              "auto" if kind == "residual" else None)
        if kind == "concat":
            _check_keys(body, ("name", "branches"), "'concat'")
            return [self._branches(body.get("branches"), body.key_lines.get("branches", line),
                                   scope, path, line)]
        if kind == "side":
            _check_keys(body, ("name", "layers"), "'side'")
            layers = _sequence(body.get("layers"), "'layers' of 'side'", line)
            return [Side(path, line, tuple(self._items(layers, scope, path, 0)))]
        known = [*LAYER_KINDS, *self.blocks, *GRAPH_KINDS]
        raise ConvcalcError(f"unknown layer kind or block '{kind}'"
                            f"{suggestion(kind, known, FAMILIAR_NAMES)}", line=line)

    def _leaves(self, kind: str, body: YMap, scope: Mapping[str, Any], path: str,
                line: int) -> list[Node]:
        cls = LAYER_KINDS[kind]
        keys = YAML_KEYS[cls]
        _check_keys(body, ("name", *keys), f"a '{kind}' layer")
        types_ = FIELD_TYPES[cls]
        values: dict[str, Any] = {}
        for source in (self.defaults.get(kind) or _mapping(None, "", line), body):
            for key, raw in source.items():
                if key == "name":
                    continue
                try:
                    values[key] = _coerce(raw, types_[key], scope, key)
                except ConvcalcError as e:
                    raise e.located(line=source.key_lines.get(key, line), path=path,
                                    kind=kind) from None
        try:
            layer = cls(kind=kind, **values)
        except TypeError:
            missing = [f.name for f in dataclasses.fields(cls) if f.name not in values
                       and f.default is dataclasses.MISSING and f.name != "kind"]
            raise ConvcalcError(f"needs {', '.join(repr(m) for m in missing)}", line=line,
                                path=path, kind=kind) from None
        except ConvcalcError as e:
            raise e.located(line=line, path=path, kind=kind) from None
        parts = layer.expand() if hasattr(layer, "expand") else (("", layer),)
        leaves: list[Node] = []
        for suffix, part in parts:
            leaf_path = f"{path}.{suffix}" if suffix else path
            self._claim(leaf_path, line, kind)
            leaves.append(Leaf(leaf_path, line, part))
        return leaves

    def _claim(self, path: str, line: int | None, kind: str) -> None:
        if path in self.paths:
            raise ConvcalcError(f"the path is used twice (also on line {self.paths[path]}); "
                                "give one of them another 'name'", line=line, path=path,
                                kind=kind)
        self.paths[path] = line
        self.budget.charge("layers", line=line)

    def _call_block(self, name: str, body: YMap, scope: Mapping[str, Any], path: str,
                    line: int) -> list[Node]:
        if name in self.calls:
            chain = " -> ".join([*self.calls[self.calls.index(name):], name])
            raise ConvcalcError(f"block '{name}' uses itself ({chain})", line=line, path=path,
                                kind=name)
        block = self.blocks[name]
        params = _mapping(block.get("args"), "", None)
        _check_keys(body, ("name", *params), f"a call of block '{name}'")
        args: dict[str, Any] = {}
        for key, default in params.items():
            if key in body:
                try:
                    args[key] = _argument(body[key], scope)
                except ConvcalcError as e:
                    raise e.located(line=body.key_lines[key], path=path, kind=name) from None
            elif default is None:
                raise ConvcalcError(f"block '{name}' needs argument '{key}'", line=line,
                                    path=path, kind=name)
            else:
                args[key] = default
        self.calls.append(name)
        try:
            if "branches" in block:
                return [self._branches(block["branches"], block.key_lines["branches"], args,
                                       path, line)]
            return self._body(block, args, path, line, f"block '{name}'", None)
        finally:
            self.calls.pop()

    def _body(self, body: YMap, scope: Mapping[str, Any], path: str, line: int, what: str,
              default_shortcut: str | None) -> list[Node]:
        """A block's or a residual's layers; with a shortcut, a Residual plus its 'after'."""
        layers = _sequence(body.get("layers"), f"'layers' of {what}", body.line or line)
        main = self._items(layers, scope, path, 0)
        shortcut = body.get("shortcut", default_shortcut)
        if shortcut is None:
            if "after" in body:
                raise ConvcalcError(f"'after' in {what} goes with 'shortcut'", line=line)
            return main
        shortcut_line = body.key_lines.get("shortcut", line)
        if isinstance(shortcut, YList):
            shortcut = tuple(self._items(shortcut, scope, f"{path}.downsample", 0))
        elif shortcut not in SHORTCUTS:
            raise ConvcalcError(f"shortcut {shortcut!r} must be one of {', '.join(SHORTCUTS)} "
                                "or a list of layers", line=shortcut_line, path=path)
        conv_defaults: Mapping[str, Any] = self.defaults.get("conv", {})
        residual = Residual(
            path, line, tuple(main), shortcut,
            projection_bias=bool(conv_defaults.get("bias", True)),
            projection_norm="batchnorm" in _kinds(main),
        )
        for key in ("add", "downsample"):
            self._claim(f"{path}.{key}".lstrip("."), line, "residual")
        after = body.get("after")
        if after is None:
            return [residual]
        after = _sequence(after, f"'after' of {what}", body.key_lines["after"])
        return [residual, *self._items(after, scope, path, len(layers))]

    def _branches(self, raw: Any, where: int, scope: Mapping[str, Any], path: str,
                  line: int) -> Branches:
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
        branches = []
        for name, layers, branch_line in named:
            items = _sequence(layers, f"branch '{name}'", branch_line)
            branches.append(tuple(self._items(items, scope, f"{path}.{name}", 0)))
        self._claim(f"{path}.concat", line, "concat")
        return Branches(path, line, tuple(branches))


def _kinds(nodes: tuple[Node, ...] | list[Node]) -> set[str]:
    return {n.layer.kind for n in nodes if isinstance(n, Leaf)}


def _argument(value: Any, scope: Mapping[str, Any]) -> Any:
    """A block argument as the caller wrote it: names and arithmetic over the caller's own
    parameters are evaluated here; other words ('same') are passed on as they are."""
    if isinstance(value, list):
        return [_argument(v, scope) for v in value]
    if isinstance(value, str):
        if value in scope:
            return scope[value]
        if not is_name(value):
            return evaluate(value, scope)
    return value


def _coerce(value: Any, expected: Any, scope: Mapping[str, Any], key: str) -> Any:
    """A YAML value as the layer field's type, evaluating names and arithmetic in scope."""
    if isinstance(value, str) and value in scope:
        return _coerce(scope[value], expected, {}, key)
    if expected is int:
        number = evaluate(value, scope) if isinstance(value, str) else value
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if type(number) is not int:
            raise ConvcalcError(f"{key} {_shown(value, number)} must be a whole number")
        return number
    if expected is float:
        number = evaluate(value, scope) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ConvcalcError(f"{key} {value!r} must be a number")
        return number
    if expected is bool:
        if not isinstance(value, bool):
            raise ConvcalcError(f"{key} {value!r} must be true or false")
        return value
    if expected == Pair:
        if isinstance(value, list):
            if len(value) != 2:
                raise ConvcalcError(f"{key} {value!r} must be one number or [h, w]")
            return tuple(_coerce(v, int, scope, key) for v in value)
        number = _coerce(value, int, scope, key)
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
        if value not in (True, False, "up"):
            raise ConvcalcError(f"scale {value!r} must be true, false or 'up'")
        return value
    if get_origin(expected) in (Union, types.UnionType) and type(None) in get_args(expected):
        return None if value is None else _coerce(
            value, next(t for t in get_args(expected) if t is not type(None)), scope, key)
    raise TypeError(f"no YAML reader for field type {expected!r}")  # a bug in layers.py


def _shown(written: Any, value: Any) -> str:
    return f"'{written}' = {value!r}" if isinstance(written, str) else repr(written)
