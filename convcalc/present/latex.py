"""LaTeX tables that fit the page: ``longtable`` (a long table breaks across pages, its header
repeated), booktabs rules, and column widths that LaTeX works out itself.

A table whose first column is text (layer or network names) is exactly as wide as the text
(``\\linewidth``): LaTeX measures the other columns (their titles and their widest cells) and
gives the first column what they leave; a name longer than that breaks after a '.' or a '_'.
When the other columns take more than three quarters of the line, the table is set a size
smaller. A document that ``\\input``s the tables loads booktabs, longtable and array (the last
two are in every LaTeX installation).
"""

import re
from collections.abc import Sequence

from convcalc.errors import plain

TIMES = "\N{MULTIPLICATION SIGN}"
PREAMBLE = r"\usepackage{booktabs,longtable,array}"

# LaTeX's ten special characters, and < > | which the default OT1 encoding prints as other glyphs.
TEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", TIMES: r"$\times$",
}
_SPECIAL = re.compile("|".join(re.escape(c) for c in TEX_SPECIALS))

# A cell is one line of text, or several stacked in one cell (a figure above its ratio).
Cell = str | tuple[str, ...]

# The two lengths the tables set, allocated once by the first table of a document.
_LENGTHS = (r"\ifdefined\convcalcname\else\newlength{\convcalcname}"
            r"\newlength{\convcalcrest}\fi%")
_CANDIDATES = 3  # the widest cells of a column by characters, measured by LaTeX


def tex_escape(text: str) -> str:
    """Text safe in LaTeX (``plain``: on one line, so it cannot end a ``\\subsection*{}`` or a
    ``\\caption{}``): each special character replaced once, in a single pass."""
    return _SPECIAL.sub(lambda m: TEX_SPECIALS[m.group()], plain(text))


def tex_paragraph(text: str) -> str:
    """A paragraph of text from an input file, ragged right (a long layer path moves to the
    next line rather than into the margin)."""
    return r"{\raggedright " + tex_escape(text) + r"\par}"


def _breakable(text: str) -> str:
    """Escaped text that may break after a '.' or a '_' that a letter follows (a layer path:
    'layer1.0.' and 'downsample.0', never 'downsample.' and '0'), rather after a '.'
    ('bottleneck1.0.' and 'dw_bn' rather than 'bottleneck1.0.dw_' and 'bn')."""
    pieces = re.split(r"(?<=[._])(?=[^\d._])", text)
    return "".join(tex_escape(p) + (r"\allowbreak{}" if p.endswith(".") else r"\penalty100{}")
                   for p in pieces[:-1]) + tex_escape(pieces[-1])


def _lines(cell: Cell) -> tuple[str, ...]:
    return cell if isinstance(cell, tuple) else (cell,)


def _chars(cell: Cell) -> int:
    """A cell's width in characters: its longest line."""
    return max(map(len, _lines(cell)))


def _wrap_title(title: str, width: int) -> tuple[str, ...]:
    """A title broken at its newlines, and after its spaces and a '/' or '-' inside a word,
    into lines of about ``width`` characters (the width of the column's cells), so that a long
    title does not widen a column of short numbers: '% of' 'MACs', 'Kernel/' 'stride'."""
    lines: list[str] = []
    for part in title.split("\n"):
        start = len(lines)
        for word in re.split(r"(?<= )|(?<=\w[/-])(?=\w)", part):
            if len(lines) > start and len(lines[-1].rstrip()) + len(word.rstrip()) <= width:
                lines[-1] += word
            else:
                lines.append(word)
    return tuple(line.rstrip() for line in lines)


def _tex_cell(cell: Cell, align: str, flexible: bool = False, place: str = "t") -> str:
    """A cell: one line, or lines stacked in a tabular of their own (``place``: its top line
    on the row's baseline, or with "b" its bottom line, as titles sit)."""
    lines = [_breakable(t) if flexible else tex_escape(t) for t in _lines(cell)]
    if len(lines) == 1 or flexible:
        return r"\newline ".join(lines)
    return (rf"\begin{{tabular}}[{place}]{{@{{}}{align}@{{}}}}" + r"\\".join(lines)
            + r"\end{tabular}")


def _widest(rows: Sequence[Sequence[Cell]], column: int) -> list[Sequence[Cell]]:
    """The rows with the widest cells of a column, by characters."""
    return sorted(rows, key=lambda row: -_chars(row[column]))[:_CANDIDATES]


def _measured(head: Sequence[str], rows: Sequence[Sequence[Cell]],
              aligns: Sequence[str]) -> str:
    """LaTeX that sets ``\\convcalcrest`` to the width of every column but the first (their
    titles and their widest cells by characters, in a tabular of their own) and gives the
    first column, ``\\convcalcname``, the rest of the line."""
    rest = range(1, len(head))
    widest = [_widest(rows, i) for i in rest]
    sample = [" & ".join(head[i] for i in rest)]
    sample += [" & ".join(_tex_cell(picks[k][i], aligns[i]) if k < len(picks) else ""
                          for i, picks in zip(rest, widest, strict=True))
               for k in range(min(len(rows), _CANDIDATES))]
    measure = (rf"\begin{{tabular}}{{{''.join(aligns[i] for i in rest)}@{{}}}}"
               + r"\\".join(sample) + r"\end{tabular}")
    return "\n".join([
        _LENGTHS, rf"\def\convcalcmeasure{{{measure}}}%",
        r"\settowidth{\convcalcrest}{\convcalcmeasure}%",
        # a size smaller when the other columns leave the names less than a quarter
        r"\ifdim\convcalcrest>.75\linewidth\scriptsize"
        r"\settowidth{\convcalcrest}{\convcalcmeasure}\fi",
        r"\setlength{\convcalcname}{\dimexpr\linewidth-\convcalcrest-\tabcolsep\relax}%",
        r"\ifdim\convcalcname<6em\setlength{\convcalcname}{6em}\fi"])


def tex_table(caption: str, titles: Sequence[str], rows: Sequence[Sequence[Cell]],
              numeric: Sequence[bool], indents: Sequence[int] = (),
              note: str = "") -> list[str]:
    """A table as LaTeX lines: a ``longtable`` with ``caption``, the ``titles`` repeated on
    every page, numeric columns right-aligned, row ``i`` of the first column indented by
    ``indents[i]`` em (a tree of blocks), ``note`` under the table. Every text is escaped."""
    aligns = ["r" if n else "l" for n in numeric]
    flexible = not numeric[0] and len(titles) > 1  # a text column first: names
    head = [tex_escape(title) if i == 0 and flexible else _tex_cell(_wrap_title(
        title, max([4, *(_chars(row[i]) for row in rows)])), aligns[i], place="b")
        for i, title in enumerate(titles)]
    lines = [r"\begingroup\footnotesize\setlength{\tabcolsep}{3pt}%"]
    spec = "".join(aligns)
    if flexible:
        lines.append(_measured(head, rows, aligns))
        spec = (r">{\raggedright\arraybackslash\hyphenpenalty=10000\relax}p{\convcalcname}"
                + spec[1:])
    header = " & ".join(head) + r" \\"
    caption_text = tex_escape(caption)
    lines += [rf"\begin{{longtable}}{{@{{}}{spec}@{{}}}}",
              rf"\caption{{{caption_text}}}\\", r"\toprule", header, r"\midrule",
              r"\endfirsthead",
              rf"\caption[]{{{caption_text} (continued)}}\\", r"\toprule", header, r"\midrule",
              r"\endhead", r"\bottomrule", r"\endfoot"]
    for index, row in enumerate(rows):
        cells = [_tex_cell(cell, aligns[i], i == 0 and flexible) for i, cell in enumerate(row)]
        if indents and indents[index]:
            cells[0] = rf"\hspace*{{{indents[index]}em}}" + cells[0]
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\end{longtable}")
    if note:
        lines.append(tex_paragraph(note))
    return [*lines, r"\endgroup", ""]
