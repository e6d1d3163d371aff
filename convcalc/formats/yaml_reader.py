"""The YAML reader every convcalc file goes through: PyYAML's safe event stream turned into plain
values that remember their line (``YMap``, ``YList``), under the budget of ``limits``; anything
but plain scalars, lists and mappings is refused, and text must be printable."""

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from convcalc.errors import ConvcalcError, suggestion
from convcalc.graph.layers import (
    FAMILIAR_NAMES,
)
from convcalc.inputs import read_input
from convcalc.limits import (
    MAX_FILE_BYTES,
    MAX_NESTING,
    MAX_NUMBER_CHARS,
    Budget,
)

PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in
              ("null", "bool", "int", "float", "str", "timestamp", "map", "seq")}


class YMap(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int
    key_lines: dict[str, int]


class YList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int
    lines: list[int]


def read_text(path: Path, what: str, shown: str, kind: str = "YAML") -> str:
    """The UTF-8 text of an input file (read by ``read_input``, within MAX_FILE_BYTES);
    ``what`` names such files in the size error, ``shown`` names this one."""
    data = read_input(path, MAX_FILE_BYTES, what, shown=shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConvcalcError(f"is not UTF-8 text; is it a {kind} file?", file=shown) from None


def read_yaml(text: str, budget: Budget, needs: str = "an architecture needs 'input' and "
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
                value = printable(text, line)
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
# (A pattern, compiled by re's cache the first time a text is not printable.)
UNPRINTABLE = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"


def printable(text: str, line: int | None) -> str:
    """``text``, refused if it holds a character a terminal would obey (only newlines and tabs
    may be written as escapes): names and descriptions are printed in tables and reports."""
    bad = None if text.isprintable() else re.search(UNPRINTABLE, text)
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
        return printable(text, None)
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


def check_keys(mapping: YMap, allowed: tuple[str, ...], what: str) -> None:
    for key in mapping:
        if key not in allowed:
            hint = suggestion(key, allowed, FAMILIAR_NAMES)
            raise ConvcalcError(
                f"unknown key '{key}' in {what}{hint}{' A' if hint else '; a'}llowed: "
                f"{', '.join(allowed)}",
                line=mapping.key_lines[key],
            )


def as_mapping(value: Any, what: str, line: int | None) -> YMap:
    if value is None:
        empty = YMap()
        empty.line, empty.key_lines = line or 0, {}
        return empty
    if not isinstance(value, YMap):
        raise ConvcalcError(f"{what} must be a mapping of keys to values, not {value!r}",
                            line=line)
    return value


def as_sequence(value: Any, what: str, line: int | None) -> YList:
    if not isinstance(value, YList):
        raise ConvcalcError(f"{what} must be a list of layers, not {value!r}", line=line)
    return value
