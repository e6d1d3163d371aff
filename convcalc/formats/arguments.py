"""The values a layer or block is written with: formulas over block arguments and input shapes
that wait for the shapes (``_Lazy``), and the coercion of a written value to a layer field's type,
with did-you-mean hints."""

import dataclasses
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

from convcalc.errors import ConvcalcError, suggestion
from convcalc.graph import expr
from convcalc.graph.expr import is_name
from convcalc.graph.layers import (
    Dims,
    FloatPair,
    Kind,
    Layer,
    Merge,
    Padding,
    Sections,
    WidthScale,
)
from convcalc.graph.shapes import Pair, Shape

_FIELD_TYPES: dict[Kind, dict[str, Any]] = {}


def field_types(cls: Kind) -> dict[str, Any]:
    """The type each field of a layer class is read as (once per class, on first use)."""
    types_ = _FIELD_TYPES.get(cls)
    if types_ is None:
        types_ = _FIELD_TYPES[cls] = {f.name: f.type for f in dataclasses.fields(cls)}
    return types_


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
    if expected == Dims:
        if not isinstance(value, list):
            raise ConvcalcError(f"{key} {value!r} must be a list of whole numbers, e.g. [1, 0]")
        return tuple(_coerce(v, int, scope, key) for v in value)
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

