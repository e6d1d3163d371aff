"""A small arithmetic evaluator for block parameters (``mid * 4``, ``c // 2``, ``max(8, c)``).

Input text is parsed with ``ast`` and only numbers, parameter names, + - * / // % and calls
of min/max are walked; nothing is ever passed to Python's eval.
"""

import ast
import operator
from collections.abc import Callable, Mapping

from convcalc.errors import ConvcalcError, suggestion
from convcalc.limits import MAX_EXPRESSION_CHARS, MAX_MAGNITUDE

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_FUNCTIONS: dict[str, Callable[..., Number]] = {"min": min, "max": max}


def is_name(text: str) -> bool:
    """True for a bare identifier such as 'mid' (also for words like 'same')."""
    return text.isidentifier()


def evaluate(text: str, scope: Mapping[str, object]) -> Number:
    """The value of an arithmetic expression over the numeric parameters in scope."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ConvcalcError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        raise ConvcalcError(
            f"'{text}' is not a number or an arithmetic expression over block parameters"
        ) from None
    return _walk(tree.body, text, scope)


def _walk(node: ast.AST, text: str, scope: Mapping[str, object]) -> Number:
    if (isinstance(node, ast.Constant) and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)):
        value: Number = node.value
    elif isinstance(node, ast.Name):
        value = _lookup(node.id, text, scope)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _walk(node.operand, text, scope)
        value = -operand if isinstance(node.op, ast.USub) else operand
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _walk(node.left, text, scope), _walk(node.right, text, scope)
        if right == 0 and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
            raise ConvcalcError(f"'{text}' divides by zero")
        value = _BINARY[type(node.op)](left, right)
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
          and node.func.id in _FUNCTIONS and node.args and not node.keywords):
        value = _FUNCTIONS[node.func.id](*(_walk(a, text, scope) for a in node.args))
    else:
        raise ConvcalcError(
            f"'{text}' may use only numbers, block parameters, + - * / // % and min/max"
        )
    if abs(value) > MAX_MAGNITUDE:
        raise ConvcalcError(f"'{text}' = {value} is too large")
    return value


def _lookup(name: str, text: str, scope: Mapping[str, object]) -> Number:
    if name not in scope:
        hint = suggestion(name, scope)
        raise ConvcalcError(f"'{text}' uses undefined parameter '{name}'{hint}")
    value = scope[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConvcalcError(f"'{text}' uses parameter '{name}' = {value!r}, which is not a number")
    return value

