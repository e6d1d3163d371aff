"""The one exception family of convcalc, the text of its location prefix, and its hints."""

from collections.abc import Iterable, Mapping
from typing import Any


class ConvcalcError(Exception):
    """Bad input: the CLI prints it on one line and exits with status 2.

    Inner code raises it with only ``message``; the loader and the analysis add where it happened
    (file, 1-based line, dotted layer path and kind) once, so every message reads
    ``file:line: layer 'path' (kind): message``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        self.kind = kind

    def located(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
        kind: str | None = None,
    ) -> "ConvcalcError":
        """A copy with the location filled in where this error does not have it yet."""
        return type(self)(
            self.message,
            file=self.file or file,
            line=self.line or line,
            path=self.path or path,
            kind=self.kind or kind,
        )

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        if self.path:
            where += f"layer '{self.path}'" + (f" ({self.kind})" if self.kind else "") + ": "
        return one_line(where + self.message)


# A message quotes the user's values; one that quotes a whole file is cut in its middle, so
# that the location at its start and the fix at its end survive.
MAX_MESSAGE_CHARS = 2000


def plain(text: str) -> str:
    """The one sanitiser of text from an input (a name, a layer path, a description, a file
    name, an ONNX producer) on its way to any output: every character that is not printable
    written as its Python escape (``\\n``, ``\\x1b``, ``\\ufffe``). That covers what a
    terminal obeys (ESC and the other controls, OSC sequences, bidirectional overrides), what
    breaks a document's structure (a newline in a Markdown heading or a LaTeX ``\\caption``,
    a tab or newline in a CSV row) and what XML forbids in SVG and HTML (the controls below U+0020,
    U+FFFE, U+FFFF, lone surrogates from undecodable file names). Each format
    then applies its own escaping (HTML entities, LaTeX specials, CSV formula prefixes)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def one_line(text: str) -> str:
    """``text`` safe to print as one line on a terminal: ``plain``, with the middle of a text
    longer than MAX_MESSAGE_CHARS left out."""
    if len(text) > MAX_MESSAGE_CHARS:
        half = MAX_MESSAGE_CHARS // 2
        text = f"{text[:half]} [... {len(text) - 2 * half:,} characters ...] {text[-half:]}"
    return plain(text)



def suggestion(word: str, choices: Iterable[str], familiar: Mapping[str, str] | None = None) -> str:
    """"; did you mean 'x'?" naming the closest choice, or '' when none is close.

    ``familiar`` maps names people bring from PyTorch or Keras to ours ('bn' -> 'batchnorm').
    """
    import difflib  # only on the error path: keeps start-up light

    choices = list(choices)
    if familiar and familiar.get(word.lower()) in choices:
        return f"; did you mean '{familiar[word.lower()]}'?"
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def require(module: str, extra: str) -> Any:
    """The imported optional ``module``, or a one-line error naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConvcalcError(f"needs the '{module}' package: pip install \"convcalc[{extra}]\" "
                            f"(from a clone: pip install \".[{extra}]\")") from None
