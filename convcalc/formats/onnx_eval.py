"""Constant arithmetic of an ONNX graph, in pure Python: the shapes, pads and scales exporters
compute inside the graph (Shape -> Gather -> Mul -> Concat -> Reshape, TensorFlow-'same' pads
with Clip, Resize sizes from Floor of a product), evaluated once so no op handler sees them.

Anchor: onnx's reference evaluator (``onnx.reference.ops``), one function per op, for what each
op computes; the tests check every op against it. Values are flat row-major tuples of Python
ints, floats and bools with their dims and ONNX data type; FLOAT results are rounded to float32
as ONNX Runtime computes them. No numpy: ``convcalc analyze`` on ONNX imports none.

Every constant may hold at most MAX_CONSTANT_ELEMENTS values and one graph's constants
MAX_FOLDED_ELEMENTS in all (limits.py): shape plumbing is a few values, so anything near either
is a hostile file. Division by zero, the square root of a negative number, a value that
overflows its type or an index out of range is a ConvcalcError, never a warning.
"""

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from convcalc import limits
from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_proto import BOOL, FLOAT, FLOAT_TYPES, INT64, INT_TYPES, TensorProto


@dataclass(frozen=True, slots=True)
class Const:
    """A constant tensor: dims, values (flat, row-major) and ONNX data type."""

    dims: tuple[int, ...]
    values: tuple[Any, ...]
    dtype: int = INT64

    @property
    def size(self) -> int:
        """Number of values."""
        return len(self.values)

    def ints(self) -> list[int]:
        """The values as whole numbers (shapes, axes, sizes); a ConvcalcError for a value that
        is not one."""
        out = []
        for v in self.values:
            if isinstance(v, float) and not (math.isfinite(v) and v.is_integer()):
                raise ConvcalcError(f"needs whole numbers, not {v}")
            out.append(int(v))
        return out

    def scalar(self) -> float | None:
        """The one value as a float, or None when there is not exactly one."""
        return float(self.values[0]) if len(self.values) == 1 else None


def const_of(tensor: TensorProto) -> Const | None:
    """The values of a decoded tensor as a Const; None when the file does not hold them."""
    if tensor.values is None:
        return None
    if math.prod(tensor.dims) != len(tensor.values):
        raise ConvcalcError(f"tensor '{tensor.name}' holds {len(tensor.values)} values for "
                            f"dims {list(tensor.dims)}")
    return Const(tensor.dims, tensor.values, tensor.data_type)


def ints(values: Sequence[int]) -> Const:
    """A 1-D INT64 constant."""
    return Const((len(values),), tuple(values), INT64)


# -- values of a type -----------------------------------------------------------------------------

def _f32(values: list[Any]) -> list[float]:
    try:
        return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))
    except OverflowError:  # above float32's range: infinite, as float32 arithmetic makes it
        return [v if abs(v) <= 3.4028234663852886e38 or not math.isfinite(v)
                else math.copysign(math.inf, v) for v in _f32_each(values)]


def _f32_each(values: list[Any]) -> list[float]:
    out = []
    for v in values:
        try:
            out.append(struct.unpack("<f", struct.pack("<f", v))[0])
        except OverflowError:
            out.append(math.copysign(math.inf, v))
    return out


def typed(values: list[Any], dtype: int, wrap: bool = False) -> tuple[Any, ...]:
    """``values`` as values of ONNX type ``dtype``: rounded to float32 for FLOAT, whole numbers
    in range for an integer type (wrapped around when ``wrap``, as a Cast does), bools."""
    if dtype == BOOL:
        return tuple(bool(v) for v in values)
    if dtype in FLOAT_TYPES:
        floats = [float(v) for v in values]
        return tuple(_f32(floats) if dtype == FLOAT else floats)
    if dtype not in INT_TYPES:
        raise ConvcalcError(f"computes with ONNX data type {dtype}; convcalc computes with "
                            "integers, floats and bools")
    bits, signed = INT_TYPES[dtype]
    low, high = (-(1 << bits - 1), 1 << bits - 1) if signed else (0, 1 << bits)
    out = []
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            raise ConvcalcError(f"cannot make {v} an integer")
        n = int(v)  # toward zero, as a Cast does
        if not low <= n < high:
            if not wrap:
                raise ConvcalcError(f"computes {n}, which overflows its {bits}-bit integers")
            n = (n - low) % (1 << bits) + low
        out.append(n)
    return tuple(out)


# -- indexing -------------------------------------------------------------------------------------

def _strides(dims: Sequence[int]) -> list[int]:
    out = [1] * len(dims)
    for i in range(len(dims) - 2, -1, -1):
        out[i] = out[i + 1] * dims[i + 1]
    return out


def _index(axes: Sequence[tuple[Sequence[int], int]]) -> list[int]:
    """Flat positions of the values picked by ``axes``: per output axis, the positions along an
    input axis and that axis's stride, in row-major order."""
    index = [0]
    for positions, stride in axes:
        index = [i + p * stride for i in index for p in positions]
    return index


def _broadcast(*all_dims: tuple[int, ...]) -> tuple[int, ...]:
    rank = max(len(d) for d in all_dims)
    padded = [(1,) * (rank - len(d)) + d for d in all_dims]
    out = []
    for sizes in zip(*padded, strict=True):
        big = {s for s in sizes if s != 1}
        if len(big) > 1:
            raise ConvcalcError(f"cannot broadcast dims {' and '.join(map(str, all_dims))}")
        out.append(big.pop() if big else 1)
    return tuple(out)


def _expanded(c: Const, dims: tuple[int, ...]) -> tuple[Any, ...]:
    """The values of ``c`` broadcast to ``dims``."""
    if c.dims == dims:
        return c.values
    padded = (1,) * (len(dims) - len(c.dims)) + c.dims
    strides = _strides(padded)
    return tuple(c.values[i] for i in _index(
        [(range(d), 0 if p == 1 else s) for d, p, s in zip(dims, padded, strides, strict=True)]))


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ConvcalcError(f"axis {axis} is out of range for rank {rank}")
    return axis % max(rank, 1)


# -- the evaluator --------------------------------------------------------------------------------

class Call:
    """One op's evaluation: its attributes, and the budget it charges for what it makes."""

    def __init__(self, attrs: dict[str, Any], evaluator: "Evaluator") -> None:
        self.attrs = attrs
        self.evaluator = evaluator

    def attr(self, key: str, default: Any = None) -> Any:
        """An attribute's value, or ``default`` when the node does not set it."""
        value = self.attrs.get(key)
        return default if value is None else value

    def make(self, dims: Sequence[int], values: Sequence[Any], dtype: int,
             wrap: bool = False) -> Const:
        """A constant, charged to the budget."""
        self.evaluator.charge(len(values))
        return Const(tuple(dims), typed(list(values), dtype, wrap), dtype)

    def check(self, elements: int) -> None:
        """Refuse a constant too large to build, before building it."""
        self.evaluator.check(elements)


Op = Callable[..., Const]
OPS: dict[str, Op] = {}


def evaluates(*op_types: str) -> Callable[[Op], Op]:
    """Register the evaluation of these ONNX op types."""
    def register(fn: Op) -> Op:
        for t in op_types:
            OPS[t] = fn
        return fn
    return register


class Evaluator:
    """Evaluates constant ops for one graph, charging what they make to one budget."""

    def __init__(self) -> None:
        self.spent = 0

    @staticmethod
    def check(elements: int) -> None:
        """A ConvcalcError for a constant of ``elements`` values above the limit of one."""
        if elements > limits.MAX_CONSTANT_ELEMENTS:
            raise ConvcalcError(f"makes a constant of {elements:,} values; shape arithmetic "
                                f"needs a few (limit {limits.MAX_CONSTANT_ELEMENTS:,})")

    def charge(self, elements: int) -> None:
        """Count ``elements`` values made; a ConvcalcError past either limit."""
        self.check(elements)
        self.spent += elements
        if self.spent > limits.MAX_FOLDED_ELEMENTS:
            raise ConvcalcError(f"the graph's constants add up to more than "
                                f"{limits.MAX_FOLDED_ELEMENTS:,} values; shape arithmetic "
                                "needs a few")

    def run(self, op_type: str, attrs: dict[str, Any],
            args: Sequence[Const | tuple[int, ...] | None]) -> Const:
        """The output of ``op_type`` on ``args`` (Const values; the dims of a network tensor for
        Shape and Size; None for an omitted optional input)."""
        fn = OPS[op_type]
        try:
            return fn(Call(attrs, self), *args)
        except ZeroDivisionError:
            raise ConvcalcError("divides by zero") from None
        except OverflowError:
            raise ConvcalcError("computes a value too large for its type") from None
        except (TypeError, ValueError, IndexError) as e:
            raise ConvcalcError(f"cannot compute this constant ({op_type}): {e}") from None


# -- sources --------------------------------------------------------------------------------------

@evaluates("Constant")
def constant(call: Call) -> Const:
    """The value attribute (a tensor, or value_float(s) / value_int(s))."""
    attrs = call.attrs
    if isinstance(attrs.get("value"), TensorProto):
        made = const_of(attrs["value"])
        if made is None:
            raise ConvcalcError("holds its value in external data or of a type convcalc "
                                "does not compute with")
        return made
    for key, dtype, scalar in (("value_float", FLOAT, True), ("value_floats", FLOAT, False),
                               ("value_int", INT64, True), ("value_ints", INT64, False)):
        if attrs.get(key) is not None:
            value = attrs[key]
            values = [value] if scalar else list(value)
            return call.make(() if scalar else (len(values),), values, dtype)
    raise ConvcalcError(f"has none of the attributes convcalc reads ({', '.join(attrs)})")


@evaluates("Shape")
def shape(call: Call, x: Const | tuple[int, ...]) -> Const:
    """The dims of x (a network tensor's, or a constant's), from start to end."""
    dims = x if isinstance(x, tuple) else x.dims
    rank = len(dims)
    start, end = int(call.attr("start", 0)), int(call.attr("end", rank))
    start, end = (min(max(v + rank if v < 0 else v, 0), rank) for v in (start, end))
    return call.make((max(end - start, 0),), dims[start:end], INT64)


@evaluates("Size")
def size(call: Call, x: Const | tuple[int, ...]) -> Const:
    """The number of values of x."""
    return call.make((), [math.prod(x if isinstance(x, tuple) else x.dims)], INT64)


@evaluates("ConstantOfShape")
def constant_of_shape(call: Call, dims: Const) -> Const:
    """A tensor of ``dims`` filled with the value attribute (float 0 by default)."""
    shape_ = dims.ints()
    if min(shape_, default=0) < 0:
        raise ConvcalcError(f"ConstantOfShape of dims {shape_}")
    value = call.attr("value")
    fill = const_of(value) if isinstance(value, TensorProto) else None
    n = math.prod(shape_)
    call.check(n)
    if fill is None:
        return call.make(shape_, [0.0] * n, FLOAT)
    return call.make(shape_, [fill.values[0]] * n, fill.dtype)


@evaluates("Range")
def range_(call: Call, start: Const, limit: Const, delta: Const) -> Const:
    """start, start + delta, ... up to limit (not included)."""
    a, b, d = start.values[0], limit.values[0], delta.values[0]
    if d == 0:
        raise ConvcalcError("Range with a delta of 0")
    n = max(math.ceil((b - a) / d), 0)
    call.check(n)
    return call.make((n,), [a + i * d for i in range(n)], start.dtype)


# -- moving values --------------------------------------------------------------------------------

@evaluates("Identity")
def identity(call: Call, x: Const) -> Const:
    """x."""
    return x


@evaluates("Cast")
def cast(call: Call, x: Const) -> Const:
    """x as the type ``to`` (toward zero to integers; integers wrap around)."""
    return call.make(x.dims, x.values, int(call.attr("to", x.dtype)), wrap=True)


@evaluates("Reshape")
def reshape(call: Call, x: Const, target: Const) -> Const:
    """x with the dims ``target``: its 0 entries copy x's dim, then one -1 is solved."""
    return Const(reshaped(x.dims, target.ints(), bool(call.attr("allowzero", 0))), x.values,
                 x.dtype)


def reshaped(dims: Sequence[int], target: Sequence[int], allowzero: bool = False
             ) -> tuple[int, ...]:
    """The dims a Reshape of ``dims`` to ``target`` makes: 0 entries copy the dim at their
    position first (unless ``allowzero``), then a -1 takes what is left."""
    out = [dims[i] if d == 0 and not allowzero and i < len(dims) else d
           for i, d in enumerate(target)]
    total = math.prod(dims)
    if out.count(-1) > 1 or any(d < -1 for d in out):
        raise ConvcalcError(f"cannot reshape dims {list(dims)} to {list(target)}")
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        if known == 0 or total % known:
            raise ConvcalcError(f"cannot reshape dims {list(dims)} to {list(target)}")
        out[out.index(-1)] = total // known
    if math.prod(out) != total:
        raise ConvcalcError(f"cannot reshape dims {list(dims)} to {list(target)}")
    return tuple(out)


@evaluates("Unsqueeze")
def unsqueeze(call: Call, x: Const, axes: Const | None = None) -> Const:
    """x with dims of 1 inserted at ``axes``."""
    given = axes.ints() if axes is not None else list(call.attr("axes", []))
    rank = len(x.dims) + len(given)
    chosen = sorted(_axis(a, rank) for a in given)
    if len(set(chosen)) != len(chosen):
        raise ConvcalcError(f"Unsqueeze axes {given} repeat an axis")
    dims = list(x.dims)
    for a in chosen:
        dims.insert(a, 1)
    return Const(tuple(dims), x.values, x.dtype)


@evaluates("Squeeze")
def squeeze(call: Call, x: Const, axes: Const | None = None) -> Const:
    """x without the dims of 1 at ``axes`` (every dim of 1 without axes)."""
    given = axes.ints() if axes is not None else list(call.attr("axes", []))
    rank = len(x.dims)
    chosen = {_axis(a, rank) for a in given} if given else {
        i for i, d in enumerate(x.dims) if d == 1}
    if any(x.dims[a] != 1 for a in chosen):
        raise ConvcalcError(f"cannot squeeze axes {given} of dims {list(x.dims)}")
    return Const(tuple(d for i, d in enumerate(x.dims) if i not in chosen), x.values, x.dtype)


@evaluates("Flatten")
def flatten(call: Call, x: Const) -> Const:
    """x as a matrix: the dims before ``axis`` times the dims after."""
    axis = int(call.attr("axis", 1))
    axis = axis + len(x.dims) if axis < 0 else axis
    if not 0 <= axis <= len(x.dims):
        raise ConvcalcError(f"Flatten axis {call.attr('axis')} of dims {list(x.dims)}")
    return Const((math.prod(x.dims[:axis]), math.prod(x.dims[axis:])), x.values, x.dtype)


@evaluates("Transpose")
def transpose(call: Call, x: Const) -> Const:
    """x with its axes in the order ``perm`` (reversed by default)."""
    rank = len(x.dims)
    perm = [int(p) for p in call.attr("perm", list(range(rank - 1, -1, -1)))]
    if sorted(perm) != list(range(rank)):
        raise ConvcalcError(f"perm {perm} is not an order of {rank} axes")
    strides = _strides(x.dims)
    index = _index([(range(x.dims[p]), strides[p]) for p in perm])
    return Const(tuple(x.dims[p] for p in perm), tuple(x.values[i] for i in index), x.dtype)


@evaluates("Expand")
def expand(call: Call, x: Const, dims: Const) -> Const:
    """x broadcast to dims (dims of 1 keep x's)."""
    out = _broadcast(x.dims, tuple(dims.ints()))
    call.check(math.prod(out))
    return call.make(out, _expanded(x, out), x.dtype)


@evaluates("Concat")
def concat(call: Call, *xs: Const) -> Const:
    """The inputs joined along ``axis`` (a 0-d input counts as one value)."""
    parts = [x if x.dims else Const((1,), x.values, x.dtype) for x in xs]
    rank = len(parts[0].dims)
    axis = _axis(int(call.attr("axis", 0)), rank)
    for p in parts:
        if len(p.dims) != rank or any(a != b for i, (a, b) in enumerate(
                zip(p.dims, parts[0].dims, strict=True)) if i != axis):
            raise ConvcalcError(f"cannot concatenate dims {[list(q.dims) for q in parts]} "
                                f"along axis {axis}")
    outer = math.prod(parts[0].dims[:axis])
    values: list[Any] = []
    for i in range(outer):
        for p in parts:
            chunk = math.prod(p.dims[axis:])
            values.extend(p.values[i * chunk:(i + 1) * chunk])
    dims = list(parts[0].dims)
    dims[axis] = sum(p.dims[axis] for p in parts)
    return call.make(dims, values, parts[0].dtype)


@evaluates("Gather")
def gather(call: Call, x: Const, indices: Const) -> Const:
    """The entries ``indices`` of x along ``axis`` (negative ones count from the end)."""
    rank = len(x.dims)
    axis = _axis(int(call.attr("axis", 0)), rank)
    n = x.dims[axis]
    picked = []
    for i in indices.ints():
        if not -n <= i < n:
            raise ConvcalcError(f"Gather index {i} is out of range for {n} entries")
        picked.append(i % n)
    strides = _strides(x.dims)
    index = _index([(range(x.dims[a]), strides[a]) for a in range(axis)]
                   + [(picked, strides[axis])]
                   + [(range(x.dims[a]), strides[a]) for a in range(axis + 1, rank)])
    dims = (*x.dims[:axis], *indices.dims, *x.dims[axis + 1:])
    return call.make(dims, [x.values[i] for i in index], x.dtype)


@evaluates("Slice")
def slice_(call: Call, x: Const, starts: Const | None = None, ends: Const | None = None,
           axes: Const | None = None, steps: Const | None = None) -> Const:
    """x[starts:ends:steps] along ``axes`` (inputs since opset 10, attributes before)."""
    begin = starts.ints() if starts is not None else list(call.attr("starts", []))
    end = ends.ints() if ends is not None else list(call.attr("ends", []))
    rank = len(x.dims)
    chosen = axes.ints() if axes is not None else list(call.attr("axes", range(len(begin))))
    step = steps.ints() if steps is not None else [1] * len(begin)
    if not len(begin) == len(end) == len(chosen) == len(step):
        raise ConvcalcError(f"Slice has {len(begin)} starts, {len(end)} ends, {len(chosen)} "
                            f"axes and {len(step)} steps; they must be as many")
    positions: list[Sequence[int]] = [range(d) for d in x.dims]
    for a, b, e, s in zip(chosen, begin, end, step, strict=True):
        if s == 0:
            raise ConvcalcError("Slice with a step of 0")
        axis = _axis(a, rank)
        positions[axis] = range(*slice(b, e, s).indices(x.dims[axis]))
    strides = _strides(x.dims)
    index = _index(list(zip(positions, strides, strict=True)))
    return call.make([len(p) for p in positions], [x.values[i] for i in index], x.dtype)


# -- arithmetic -----------------------------------------------------------------------------------

def _elementwise(call: Call, fn: Callable[..., Any], xs: Sequence[Const],
                 dtype: int | None = None) -> Const:
    dims = _broadcast(*(x.dims for x in xs))
    call.check(math.prod(dims))
    columns = [_expanded(x, dims) for x in xs]
    return call.make(dims, [fn(*v) for v in zip(*columns, strict=True)],
                     xs[0].dtype if dtype is None else dtype)


def _is_int(x: Const) -> bool:
    return x.dtype in INT_TYPES


def _divide(a: Any, b: Any, whole: bool) -> Any:
    if b == 0:
        raise ConvcalcError("divides by zero")
    if whole:  # toward zero, as C and ONNX Runtime divide integers
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q
    return a / b


def _power(a: Any, b: Any, whole: bool) -> Any:
    if whole:
        if b < 0:
            raise ConvcalcError(f"raises the integer {a} to the negative power {b}")
        if abs(a) > 1 and b > 64:
            raise ConvcalcError(f"{a} to the power {b} overflows")
        return a ** b
    if a < 0 and not float(b).is_integer():
        raise ConvcalcError(f"raises the negative number {a} to the fractional power {b}")
    if a == 0 and b < 0:
        raise ConvcalcError("divides by zero (0 to a negative power)")
    return math.pow(a, b)


def _sqrt(a: Any) -> float:
    if a < 0:
        raise ConvcalcError(f"takes the square root of the negative number {a}")
    return math.sqrt(a)


def _rounded(fn: Callable[[float], int]) -> Callable[[Any], Any]:
    def apply(a: Any) -> Any:
        return float(fn(a)) if isinstance(a, float) and math.isfinite(a) else a
    return apply


def _binary(op_type: str) -> Op:
    """a + b, a - b, a * b, a / b (toward zero for integers), a mod b (the divisor's sign, or
    C's fmod with fmod=1), a ** b, broadcast."""
    def run(call: Call, a: Const, b: Const) -> Const:
        whole = _is_int(a)
        fmod = bool(call.attr("fmod", 0))
        fns: dict[str, Callable[[Any, Any], Any]] = {
            "Add": lambda x, y: x + y, "Sub": lambda x, y: x - y, "Mul": lambda x, y: x * y,
            "Div": lambda x, y: _divide(x, y, whole),
            "Mod": lambda x, y: _modulo(x, y, fmod),
            "Pow": lambda x, y: _power(x, y, whole)}
        return _elementwise(call, fns[op_type], (a, b))
    run.__doc__ = f"{op_type} of two constants, broadcast."
    return run


def _modulo(a: Any, b: Any, fmod: bool) -> Any:
    if b == 0:
        raise ConvcalcError("divides by zero (Mod by 0)")
    return math.fmod(a, b) if fmod else a % b


for _op_type in ("Add", "Sub", "Mul", "Div", "Mod", "Pow"):
    OPS[_op_type] = _binary(_op_type)

UNARY: dict[str, Callable[[Any], Any]] = {
    "Neg": lambda a: -a, "Abs": abs, "Floor": _rounded(math.floor), "Ceil": _rounded(math.ceil),
    "Sqrt": _sqrt, "Not": lambda a: not a,
    "Reciprocal": lambda a: _divide(1.0, a, False),
}


def _unary(op_type: str) -> Op:
    def run(call: Call, x: Const) -> Const:
        return _elementwise(call, UNARY[op_type], (x,))
    run.__doc__ = f"{op_type} of each value."
    return run


for _op_type in UNARY:
    OPS[_op_type] = _unary(_op_type)

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equal": lambda a, b: a == b, "Less": lambda a, b: a < b, "Greater": lambda a, b: a > b,
    "LessOrEqual": lambda a, b: a <= b, "GreaterOrEqual": lambda a, b: a >= b,
    "And": lambda a, b: bool(a and b), "Or": lambda a, b: bool(a or b),
}


def _comparison(op_type: str) -> Op:
    def run(call: Call, a: Const, b: Const) -> Const:
        return _elementwise(call, COMPARISONS[op_type], (a, b), BOOL)
    run.__doc__ = f"{op_type} of two constants, as bools."
    return run


for _op_type in COMPARISONS:
    OPS[_op_type] = _comparison(_op_type)


def _extreme(pick: Callable[..., Any]) -> Op:
    def run(call: Call, *xs: Const) -> Const:
        return _elementwise(call, lambda *v: pick(v), xs)
    run.__doc__ = f"The {pick.__name__} of the inputs, value by value, broadcast."
    return run


OPS["Min"], OPS["Max"] = _extreme(min), _extreme(max)


@evaluates("Where")
def where(call: Call, condition: Const, a: Const, b: Const) -> Const:
    """a where condition holds, else b, broadcast."""
    return _elementwise(call, lambda c, x, y: x if c else y, (condition, a, b), a.dtype)


@evaluates("Clip")
def clip(call: Call, x: Const, low: Const | None = None, high: Const | None = None) -> Const:
    """x limited to [low, high] (inputs since opset 11, attributes min and max before)."""
    lo = low.values[0] if low is not None else call.attr("min")
    hi = high.values[0] if high is not None else call.attr("max")
    return _elementwise(call, lambda v: min(max(v, lo) if lo is not None else v, hi)
                        if hi is not None else (max(v, lo) if lo is not None else v), (x,))


# -- reductions -----------------------------------------------------------------------------------

REDUCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "ReduceSum": sum, "ReduceProd": math.prod, "ReduceMin": min, "ReduceMax": max,
    "ReduceMean": lambda v: sum(v) / len(v),
}


def _reduction(op_type: str) -> Op:
    def run(call: Call, x: Const, axes: Const | None = None) -> Const:
        rank = len(x.dims)
        given = axes.ints() if axes is not None else list(call.attr("axes", []))
        if not given and call.attr("noop_with_empty_axes", 0):
            return x
        chosen = sorted({_axis(a, rank) for a in given}) if given else list(range(rank))
        kept = [a for a in range(rank) if a not in chosen]
        group = math.prod(x.dims[a] for a in chosen)
        if group == 0 and op_type in ("ReduceMin", "ReduceMax", "ReduceMean"):
            raise ConvcalcError(f"{op_type} over no values")
        strides = _strides(x.dims)
        order = [x.values[i] for i in _index([(range(x.dims[a]), strides[a])
                                              for a in kept + chosen])]
        values = [REDUCTIONS[op_type](order[i:i + group])
                  for i in range(0, len(order), group)] if group else [
                      REDUCTIONS[op_type]([])] * math.prod(x.dims[a] for a in kept)
        keep = bool(call.attr("keepdims", 1))
        dims = [1 if a in chosen else d for a, d in enumerate(x.dims)] if keep else [
            x.dims[a] for a in kept]
        return call.make(dims, values, x.dtype)
    run.__doc__ = f"{op_type} of x over ``axes`` (every axis without them)."
    return run


for _op_type in REDUCTIONS:
    OPS[_op_type] = _reduction(_op_type)


# -- dims without values --------------------------------------------------------------------------

# Element-wise ops that may appear on weights only (an activation of a re-parameterised scale),
# besides those the evaluator computes.
ELEMENTWISE = frozenset((*UNARY, *COMPARISONS, "Add", "Sub", "Mul", "Div", "Mod", "Pow", "Min",
                         "Max", "Where", "Clip", "Cast", "Identity", "Relu", "Sigmoid", "Exp",
                         "Log", "Softplus", "Tanh", "Erf", "Sin", "Cos"))
# Ops that only move values: run on a stand-in without values, they give the dims.
MOVES = frozenset(("Reshape", "Unsqueeze", "Squeeze", "Flatten"))


def output_dims(op_type: str, attrs: dict[str, Any],
                args: Sequence[Const | tuple[int, ...] | None]) -> tuple[int, ...] | None:
    """The dims of the output of ``op_type`` when some inputs are known only by their dims
    (a tuple; weights whose values the file does not hold); None for an op whose dims need
    the values."""
    call = Call(attrs, Evaluator())

    def dims_of(a: Const | tuple[int, ...]) -> tuple[int, ...]:
        return a if isinstance(a, tuple) else a.dims

    given = [a for a in args if a is not None]
    if op_type == "BatchNormalization":  # of a weight: normalised, the same dims
        return dims_of(given[0])
    if op_type in ELEMENTWISE:
        return _broadcast(*(dims_of(a) for a in given))
    first = dims_of(given[0])
    if op_type in MOVES:
        rest = [a if not isinstance(a, tuple) else None for a in args[1:]]
        if any(r is None for r in rest[:1]) and op_type == "Reshape":
            return None
        return OPS[op_type](call, Const(first, ()), *rest).dims
    if op_type == "Transpose":
        perm = [int(p) for p in call.attr("perm", list(range(len(first) - 1, -1, -1)))]
        if sorted(perm) != list(range(len(first))):
            raise ConvcalcError(f"perm {perm} is not an order of {len(first)} axes")
        return tuple(first[p] for p in perm)
    if op_type in REDUCTIONS:
        axes = args[1] if len(args) > 1 else None
        if isinstance(axes, tuple):
            return None
        given_axes = axes.ints() if axes is not None else list(call.attr("axes", []))
        if not given_axes and call.attr("noop_with_empty_axes", 0):
            return first
        chosen = {_axis(a, len(first)) for a in given_axes} or set(range(len(first)))
        if call.attr("keepdims", 1):
            return tuple(1 if a in chosen else d for a, d in enumerate(first))
        return tuple(d for a, d in enumerate(first) if a not in chosen)
    if op_type == "Concat":
        all_dims = [dims_of(a) for a in given]
        axis = _axis(int(call.attr("axis", 0)), len(first))
        return tuple(sum(d[axis] for d in all_dims) if a == axis else n
                     for a, n in enumerate(first))
    return None
