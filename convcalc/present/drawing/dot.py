"""A ``Diagram`` in Graphviz's DOT language, for people who lay graphs out with ``dot``: the
same boxes, fills, labels and dashes; Graphviz does its own layout."""

from convcalc.present.drawing.model import FILLS, Diagram


def quoted(text: str) -> str:
    """A DOT quoted string (an id or a label): backslash and double quote escaped, so that
    nothing in a name ends the string or reads as one of dot's escapes (``\\N``, ``\\G``);
    newlines are the label's own line breaks (``\\n``)."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def render_dot(diagram: Diagram) -> str:
    """The diagram as a ``digraph``, ranks top to bottom."""
    lines = [f"digraph {quoted(diagram.title)} {{",
             "  rankdir=TB;",
             f"  label={quoted(diagram.title)}; labelloc=t;",
             '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];',
             '  edge [fontname="monospace", fontsize=9, color="#6e7781"];']
    for i, box in enumerate(diagram.boxes):
        label = "\n".join(filter(None, (box.name, f"{box.kind} · {box.shape}", box.text)))
        styles = ["rounded", "filled"] + (["dashed"] if box.side else []) + (
            ["bold"] if box.output else [])
        lines.append(f"  {quoted(f'n{i}')} [label={quoted(label)}, "
                     f"fillcolor={quoted(FILLS[box.level])}, style={quoted(','.join(styles))}, "
                     f"tooltip={quoted(box.name)}];")
    for link in diagram.links:
        style = ", style=dashed" if link.side else ""
        lines.append(f"  {quoted(f'n{link.source}')} -> {quoted(f'n{link.target}')} "
                     f"[label={quoted(link.shape)}{style}];")
    return "\n".join([*lines, "}"]) + "\n"
