"""The receptive field: which pixels of the network input each output position sees.

Along each axis a tensor's ``Field`` gives, for every position o, the first and last input
pixels it sees, lo(o) .. hi(o), away from the borders (padding is read as if the image went
on). Strides, upsampling and transposed convolutions make these steps uneven, so the field
keeps one period of them: lo(o + period) = lo(o) + shift, likewise hi. A network of
convolutions and pools keeps a period of 1, where this is the usual r += d(f - 1) * jump,
jump *= stride (Araujo, Norris and Sim, "Computing receptive fields of convolutional neural
networks", Distill 2019); a 2x upsampling or transposed convolution doubles the period until
a stride takes it back. A layer says which of its input positions each output position reads
(``layers.Reach``); a merge sees what its inputs of the output's size see, position by
position, and at least as much as any broadcast gate saw.

Reported per row: ``size``, the most input pixels one position sees, max(hi - lo) + 1; and
``jump``, shift / period, the mean distance between neighbouring positions in input pixels.
"""

import math
from typing import NamedTuple

from convcalc.errors import ConvcalcError
from convcalc.graph.layers import Reach
from convcalc.limits import MAX_FIELD_POSITIONS


class Field(NamedTuple):
    """One axis of a tensor's receptive field (see the module docstring); ``size`` is
    max(hi - lo) + 1 (``_field`` computes it)."""

    period: int
    shift: int
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    size: int

    def at(self, o: int) -> tuple[int, int]:
        """(lo, hi) of position o."""
        q, r = divmod(o, self.period)
        return self.lo[r] + q * self.shift, self.hi[r] + q * self.shift

    @property
    def jump(self) -> int | float:
        whole, part = divmod(self.shift, self.period)
        return self.shift / self.period if part else whole


def _field(period: int, shift: int, lo: tuple[int, ...], hi: tuple[int, ...]) -> Field:
    return Field(period, shift, lo, hi, max(h - a for a, h in zip(lo, hi, strict=True)) + 1)


INPUT = Field(1, 1, (0,), (0,), 1)  # the network input: position o sees pixel o


def _checked(period: int, left: int) -> int:
    """A period that fits in the ``left`` positions of the analysis' budget."""
    if period > left:
        raise ConvcalcError(f"its receptive field repeats every {period:,} positions, more than "
                            f"the {left:,} left of the budget of {MAX_FIELD_POSITIONS:,}; "
                            "resize by a simpler ratio (a scale such as 2, or a size)")
    return period


def through(field: Field, reach: Reach, left: int) -> Field:
    """The field after a layer whose output position o reads input positions
    ``reach.reads(o)``: the smallest period p with p * num/den whole and a multiple of the
    input's period (at most ``left`` positions)."""
    num, den = reach.step
    if field.period == den == reach.period == 1:  # the common case: whole steps all the way
        first, last = reach.reads(0)
        lo, hi = field.lo[0] + first * field.shift, field.hi[0] + last * field.shift
        return Field(1, field.shift * num, (lo,), (hi,), hi - lo + 1)
    period = _checked(math.lcm(field.period * den // math.gcd(num, field.period * den),
                               reach.period), left)
    shift = field.shift * (period * num // den) // field.period
    ends = [reach.reads(o) for o in range(period)]
    return _field(period, shift, tuple(field.at(first)[0] for first, _ in ends),
                 tuple(field.at(last)[1] for _, last in ends))


def merged(aligned: list[Field], gates: list[Field], left: int) -> Field:
    """The field of a merge: the union of its inputs of the output's size (over their common
    period, when they step alike; else the widest), widened to what the broadcast ``gates``
    see. An input whose positions all see the same pixels (an upsampled 1x1 pooling branch,
    shift 0) is a gate too."""
    constant = [f for f in aligned if f.shift == 0]
    if len(constant) < len(aligned):
        aligned, gates = [f for f in aligned if f.shift != 0], gates + constant
    first = aligned[0]
    if len(aligned) > 1 and all(f.shift * first.period == first.shift * f.period
                                for f in aligned):
        period = _checked(math.lcm(*(f.period for f in aligned)), left)
        ends = [[f.at(o) for f in aligned] for o in range(period)]
        union = _field(period, first.shift * period // first.period,
                      tuple(min(e[0] for e in at) for at in ends),
                      tuple(max(e[1] for e in at) for at in ends))
    else:
        union = max(aligned, key=lambda f: f.size)
    seen = max((g.size for g in gates), default=0)
    if seen <= union.size:
        return union
    return _field(union.period, union.shift,
                 tuple(min(lo, h - seen + 1) for lo, h in zip(union.lo, union.hi, strict=True)),
                 union.hi)
