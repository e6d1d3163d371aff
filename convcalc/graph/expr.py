"""A small evaluator for block formulas (``mid * 4``, ``make_divisible(in.c * t, 8)``,
``stride == 1 and se``).

Input text is parsed with ``ast`` and only numbers, quoted words, parameter names, ``in.c`` /
``in.h`` / ``in.w`` (the block input's channels, height and width), + - * / // %, comparisons,
and / or / not, and calls of min, max, make_divisible, ceil, floor and round are walked;
nothing is ever passed to Python's eval. Every value is finite and at most MAX_MAGNITUDE.
"""

import ast
import functools
import math
import operator
import re
from collections.abc import Callable, Mapping

from convcalc.errors import ConvcalcError, suggestion
from convcalc.limits import MAX_EXPRESSION_CHARS, MAX_MAGNITUDE

Number = int | float
Value = int | float | bool | str

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Value, Value], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def make_divisible(value: float, divisor: float, min_value: float | None = None) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``, which
    defaults to ``divisor``), never more than 10% below ``value``: torchvision's
    ``_make_divisible`` (MobileNetV2, MobileNetV3, EfficientNet)."""
    numbers = {"value": value, "divisor": divisor}
    if min_value is not None:
        numbers["min_value"] = min_value
    for name, number in numbers.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or not (
                math.isfinite(number)):
            raise ConvcalcError(f"make_divisible's {name} {number!r} must be a finite number")
        if abs(number) > MAX_MAGNITUDE:  # 1e308 + 1e308 / 2 is infinite, which int() refuses
            raise ConvcalcError(f"make_divisible's {name} {number!r} must be at most "
                                f"{MAX_MAGNITUDE:.0e} in size")
    divisor = int(divisor)
    if divisor < 1:
        raise ConvcalcError(f"make_divisible's divisor {divisor} must be at least 1")
    floor_value = divisor if min_value is None else int(min_value)
    rounded = max(floor_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


# name: (function, fewest arguments, most arguments)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "min": (min, 2, 64),
    "max": (max, 2, 64),
    "make_divisible": (make_divisible, 2, 3),
    "ceil": (math.ceil, 1, 1),
    "floor": (math.floor, 1, 1),
    # Python's round (half to even), as torchvision's int(round(x)).
    "round": (round, 1, 1),
}
FUNCTIONS = tuple(_FUNCTIONS)
# `in` is a Python keyword, so `in.c` can only mean the block input; it is read as a name.
# Patterns are compiled (by re's cache) on first use, not at import: most formulas never
# contain the letters "in", and compiling costs start-up time.
_INPUT = r"\bin\s*\.\s*([a-z_]+)"
_INPUT_WORD = r"\bin\b"
# Words joined by hyphens ('thirty-two'): prose, not a subtraction of parameters.
_WORDS = r"[A-Za-z]+(-[A-Za-z]+)+"
INPUT_DIMS = {"c": "in_c", "h": "in_h", "w": "in_w"}
INPUT_NAMES = tuple(f"__{n}" for n in INPUT_DIMS.values())


def is_name(text: str) -> bool:
    """True for a bare identifier such as 'mid' (also for words like 'same')."""
    return text.isidentifier()


def uses_input(text: str) -> bool:
    """True when a formula reads the block input's shape (``in.c`` and friends)."""
    return "in" in text and re.search(_INPUT_WORD, text) is not None


def input_scope(c: int, h: int | None, w: int | None) -> dict[str, int]:
    """The names ``in.c``, ``in.h`` and ``in.w`` are read as, for a block input of that shape
    (a flat vector has no height or width)."""
    scope = {"__in_c": c}
    if h is not None and w is not None:
        scope |= {"__in_h": h, "__in_w": w}
    return scope


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.expr:
    """The syntax tree of a formula (cached: a block's formulas repeat in every call; the tree
    is only read)."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ConvcalcError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")

    def dim(match: re.Match[str]) -> str:
        if match.group(1) not in INPUT_DIMS:
            raise ConvcalcError(f"'{text}' reads 'in.{match.group(1)}'; the block input has "
                                "in.c, in.h and in.w")
        return f"__{INPUT_DIMS[match.group(1)]}"

    source = re.sub(_INPUT, dim, text) if "in" in text else text
    if "in" in source and re.search(_INPUT_WORD, source):
        raise ConvcalcError(f"'{text}' uses 'in' alone; write in.c, in.h or in.w")
    try:
        return ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError):
        raise ConvcalcError(
            f"'{text}' is neither a number nor a formula over block parameters "
            "(+ - * / // %, comparisons, and/or/not, " + ", ".join(FUNCTIONS) + ")"
        ) from None


def names(text: str) -> set[str]:
    """The parameter names a formula reads (``in.c`` as ``__in_c``)."""
    return set(_names(text))


@functools.lru_cache(maxsize=4096)
def _names(text: str) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(_parse(text)) if isinstance(n, ast.Name))


def evaluate(text: str, scope: Mapping[str, object]) -> Number:
    """The number an arithmetic formula over the numeric parameters in scope gives."""
    value = _walk(_parse(text), text, scope)
    if isinstance(value, bool | str):
        raise ConvcalcError(f"'{text}' = {value!r} must be a number")
    return value


def condition(text: str, scope: Mapping[str, object]) -> bool:
    """The truth of an ``if:`` formula: a comparison, and/or/not, or a true/false parameter."""
    value = _walk(_parse(text), text, scope)
    if not isinstance(value, bool):
        raise ConvcalcError(f"'{text}' = {value!r} must be true or false (a comparison such "
                            "as 'expansion != 1', or a true/false argument)")
    return value


def _walk(node: ast.AST, text: str, scope: Mapping[str, object]) -> Value:
    value: Value
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        value = node.value
    elif isinstance(node, ast.Name):
        value = _lookup(node.id, text, scope)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        value = not _truth(_walk(node.operand, text, scope), text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _number(_walk(node.operand, text, scope), text)
        value = -operand if isinstance(node.op, ast.USub) else operand
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _number(_walk(node.left, text, scope), text)
        right = _number(_walk(node.right, text, scope), text)
        if right == 0 and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
            raise ConvcalcError(f"'{text}' divides by zero")
        value = _BINARY[type(node.op)](left, right)
    elif isinstance(node, ast.BoolOp):
        parts = [_truth(_walk(v, text, scope), text) for v in node.values]
        value = all(parts) if isinstance(node.op, ast.And) else any(parts)
    elif (isinstance(node, ast.Compare)
          and all(type(op) in _COMPARE for op in node.ops)):
        a = _walk(node.left, text, scope)
        value = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            b = _walk(right_node, text, scope)
            if isinstance(a, str) != isinstance(b, str) and type(op) not in (ast.Eq, ast.NotEq):
                raise ConvcalcError(f"'{text}' compares a word with a number")
            value = value and _COMPARE[type(op)](a, b)
            a = b
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
          and node.func.id in _FUNCTIONS and not node.keywords):
        function, fewest, most = _FUNCTIONS[node.func.id]
        if not fewest <= len(node.args) <= most:
            count = str(fewest) if fewest == most else f"{fewest} to {most}"
            raise ConvcalcError(f"'{text}': {node.func.id}() takes {count} arguments, "
                                f"not {len(node.args)}")
        value = function(*(_number(_walk(a, text, scope), text) for a in node.args))
    else:
        raise ConvcalcError(
            f"'{text}' may use only numbers, block parameters, in.c/in.h/in.w, + - * / // %, "
            "comparisons, and/or/not and " + ", ".join(FUNCTIONS)
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ConvcalcError(f"'{text}' gives {value}, which is not a finite number")
    if isinstance(value, int | float) and not isinstance(value, bool) and (
            abs(value) > MAX_MAGNITUDE):
        raise ConvcalcError(f"'{text}' = {value} is too large")
    return value


def _number(value: Value, text: str) -> Number:
    if isinstance(value, bool | str):
        raise ConvcalcError(f"'{text}' uses {value!r} where a number is needed")
    return value


def _truth(value: Value, text: str) -> bool:
    if not isinstance(value, bool):
        raise ConvcalcError(f"'{text}' uses {value!r} where true or false is needed")
    return value


def _lookup(name: str, text: str, scope: Mapping[str, object]) -> Value:
    if name not in scope:
        if name in INPUT_NAMES:
            raise ConvcalcError(f"'{text}' reads the input's height or width, but the block "
                                "input is a flat vector")
        if re.fullmatch(_WORDS, text):
            raise ConvcalcError(f"'{text}' is neither a number nor a formula over block "
                                "parameters; write a number such as 32")
        hint = suggestion(name, [k for k in scope if not k.startswith("__")])
        raise ConvcalcError(f"'{text}' uses undefined parameter '{name}'{hint}")
    value = scope[name]
    if isinstance(value, int | float | str):  # bool is an int
        if isinstance(value, float) and not math.isfinite(value):
            raise ConvcalcError(f"'{text}' uses parameter '{name}' = {value}, which is not "
                                "a finite number")
        return value
    raise ConvcalcError(f"'{text}' uses parameter '{name}' = {value!r}, which is not a number")
