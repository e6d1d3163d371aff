"""What ``--convert`` did, as the line printed under a table: how many layers it rewrote and
which it left alone, and why (the JSON output has the same under ``conversions``)."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convcalc.analysis.variants import Conversion

SHOWN = 3  # skipped layers named in the line; --format json lists every one


def conversion_note(conversion: "Conversion") -> str:
    """One sentence: 'mobilenet_v3_large (standard): 15 depthwise + pointwise pairs fused into
    full convolutions (8 across a squeeze-and-excitation gate, which now gates the
    convolution's input); 0 left alone.'"""
    n, skipped = conversion.converted, conversion.skipped
    if conversion.to == "separable":
        done = f"{n} standard convolution{'s' if n != 1 else ''} split into depthwise + pointwise"
        none = "no standard k x k convolution to split"
    else:
        done = (f"{n} depthwise + pointwise pair{'s' if n != 1 else ''} fused into full "
                "convolution" + ("s" if n != 1 else ""))
        none = "no depthwise convolution to fuse"
    if n == 0 and not skipped:
        return f"{conversion.arch.name}: {none}; it is unchanged."
    if conversion.gated:
        done += (f" ({conversion.gated} across a squeeze-and-excitation gate, which now gates "
                 "the convolution's input)")
    named = "; ".join(f"{k.path}: {k.reason}" for k in skipped[:SHOWN])
    more = (f"; and {len(skipped) - SHOWN} more (--format json lists them)"
            if len(skipped) > SHOWN else "")
    left = f"{len(skipped)} left alone" + (f" ({named}{more})" if skipped else "")
    return f"{conversion.arch.name}: {done}; {left}."
