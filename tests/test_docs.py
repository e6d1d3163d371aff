"""Every example in README.md and docs/ is run, and its output compared with what the page shows.

A page's fenced blocks are read in order, in a fresh folder that links the repository's
``architectures``, ``devices``, ``benchmarks`` and ``tests`` folders:

- ```` ```console ````: ``$ convcalc ARGS`` lines, each followed by the output it prints (through
  click's ``CliRunner``); a line ``...`` stands for any number of lines. A command may be piped
  through ``head -N``, ``tail -N`` or ``sed -n A,Bp``; ``$ cat FILE`` and ``$ head -N FILE``
  show a file an earlier command wrote; ``$ PYTHONPATH=. python benchmarks/SCRIPT.py ...`` runs
  a benchmark script that needs no timing (a fit to stored measurements). Output that starts
  with ``Error:`` expects exit status 2, anything else 0.
- ```` ```pycon ````: a doctest (``>>>`` lines and their output); one namespace per page.
- ```` ```python ````: run, in the same namespace.
- A block with ``title="FILE"`` is a file the reader writes: it is saved under that name (and
  not run), so later blocks can read it.
- A block of shell commands (```` ```bash ````: installing, the test and benchmark commands) may
  not start a line with ``convcalc``: every convcalc command shown is one that is checked.
  Recorded output that cannot be rerun (timings) is ```` ```text ````.

``CONVCALC_DOCS_UPDATE=1 pytest tests/test_docs.py`` writes the real output into the pages
instead of comparing (keeping one ``...`` elision per command); review the diff before committing.
"""

import doctest
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc.cli import main

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINKED = ("architectures", "devices", "benchmarks", "tests")
UPDATE = os.environ.get("CONVCALC_DOCS_UPDATE") == "1"
SHELLS = ("bash", "sh", "shell", "")  # blocks of commands to type, not shown output (```text)
FENCE = re.compile(r'^```(\w*)(?:\s+title="([^"]+)")?\s*$')


@dataclass
class Block:
    """One fenced block: its language, title, the 0-based index of its first line, its lines."""

    lang: str
    title: str | None
    line: int
    lines: list[str]


def blocks(text: str) -> Iterator[Block]:
    """The top-level fenced blocks of a Markdown page, in order."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        end = lines.index("```", i + 1)
        yield Block(match[1], match[2], i + 1, lines[i + 1:end])
        i = end + 1


@dataclass
class Command:
    """One ``$`` line of a console block (``line``: its 1-based number) and the lines shown
    after it."""

    line: int
    text: str
    expected: list[str]


def commands(block: Block) -> list[Command]:
    """The commands of a console block, each with its expected output."""
    found: list[Command] = []
    for offset, line in enumerate(block.lines):
        if line.startswith("$ "):
            found.append(Command(block.line + offset + 1, line[2:], []))
        else:
            assert found, f"line {block.line + offset}: output before any '$ ' command"
            found[-1].expected.append(line)
    return found


def filtered(lines: list[str], stage: list[str]) -> list[str]:
    """``head -N``, ``tail -N`` or ``sed -n A,Bp`` applied to the lines of output."""
    match stage:
        case ["head", n] if n.startswith("-"):
            return lines[:int(n[1:])]
        case ["tail", n] if n.startswith("-"):
            return lines[-int(n[1:]):]
        case ["sed", "-n", span] if re.fullmatch(r"\d+,\d+p", span):
            first, last = map(int, span[:-1].split(","))
            return lines[first - 1:last]
    raise AssertionError(f"unsupported filter in a docs example: {' '.join(stage)}")


def run(command: str) -> tuple[int, list[str]]:
    """Exit status and output lines (stdout and stderr, trailing spaces dropped) of a shell-like
    command line, in the current folder."""
    first, *stages = [shlex.split(part) for part in command.split(" | ")]
    match first:
        case ["convcalc", *args]:
            result = CliRunner().invoke(main, args)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            status, text = result.exit_code, result.output
        case ["PYTHONPATH=.", "python", script, *args] if script.startswith("benchmarks/"):
            done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
                                  timeout=120)
            status, text = done.returncode, done.stdout + done.stderr
        case ["cat", name]:
            status, text = 0, Path(name).read_text()
        case ["head", n, name] if n.startswith("-"):
            status, text = 0, "".join(Path(name).read_text().splitlines(True)[:int(n[1:])])
        case _:
            raise AssertionError(f"docs example is not a convcalc command: {command}")
    lines = [line.rstrip() for line in text.rstrip("\n").split("\n")] if text else []
    for stage in stages:
        lines = filtered(lines, stage)
    return status, lines


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether the actual lines are the expected ones, a ``...`` line standing for any lines
    (each stretch between two ``...`` matched at its earliest place, which is enough)."""
    segments: list[list[str]] = [[]]
    for line in expected:
        if line == "...":
            segments.append([])
        else:
            segments[-1].append(line)
    if len(segments) == 1:
        return expected == actual
    head, tail = segments[0], segments[-1]
    end = len(actual) - len(tail)
    if actual[:len(head)] != head or end < len(head) or actual[end:] != tail:
        return False
    position = len(head)
    for segment in segments[1:-1]:
        found = next((i for i in range(position, end - len(segment) + 1)
                      if actual[i:i + len(segment)] == segment), None)
        if found is None:
            return False
        position = found + len(segment)
    return True


def updated(expected: list[str], actual: list[str]) -> list[str]:
    """The expected lines rewritten from the actual ones, keeping one ``...`` where it was."""
    if "..." not in expected:
        return actual
    head = expected.index("...")
    tail = len(expected) - head - 1
    return [*actual[:head], "...", *(actual[-tail:] if tail else [])]


def blank_lines_marked(lines: list[str]) -> str:
    """A pycon block as doctest reads it: a blank line inside shown output is ``<BLANKLINE>``
    (doctest would end the output there); the page shows it blank, as Python prints it."""
    marked = [line or "<BLANKLINE>" for line in lines]
    while marked and marked[-1] == "<BLANKLINE>":
        marked.pop()
    return "\n".join(marked) + "\n"


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_examples(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example block on the page runs and prints what the page shows."""
    for name in LINKED:
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "400")
    text = page.read_text()
    namespace: dict[str, object] = {}
    edits: list[tuple[int, int, list[str]]] = []
    where = page_id(page)
    for block in blocks(text):
        body = "\n".join(block.lines) + "\n"
        if block.title is not None:
            Path(block.title).write_text(body)
        elif block.lang == "console":
            for command in commands(block):
                status, actual = run(command.text)
                shown = actual if UPDATE else command.expected
                want = 2 if shown[:1] and shown[0].startswith("Error:") else 0
                assert status == want, (f"{where}:{command.line}: `{command.text}` exit {status}:\n"
                                        + "\n".join(actual))
                if UPDATE:
                    edits.append((command.line, len(command.expected),
                                  updated(command.expected, actual)))
                    continue
                assert matches(command.expected, actual), (
                    f"{where}:{command.line}: `{command.text}` printed\n" + "\n".join(actual))
        elif block.lang == "pycon":
            test = doctest.DocTestParser().get_doctest(blank_lines_marked(block.lines), namespace,
                                                       where, where, block.line)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                           | doctest.NORMALIZE_WHITESPACE)
            runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # DocTest runs in a copy of the namespace
            assert runner.failures == 0, f"{where}:{block.line}: doctest failed (see output)"
        elif block.lang == "python":
            exec(compile(body, f"{where}:{block.line}", "exec"), namespace)
        elif block.lang in SHELLS:
            shown = [line for line in block.lines if line.lstrip().startswith("convcalc ")]
            assert not shown, (f"{where}:{block.line}: convcalc commands in a ```{block.lang} "
                               f"block are not checked; use ```console with their output")
    if edits:
        lines = text.split("\n")
        for start, length, new in reversed(edits):
            lines[start:start + length] = new
        page.write_text("\n".join(lines))


def test_every_layer_kind_has_one_row() -> None:
    """The architecture language's table has one row per layer kind, and no row for a kind
    that does not exist."""
    from convcalc.graph.layers import LAYER_KINDS

    text = (ROOT / "docs" / "language.md").read_text()
    table = text[text.index("| kind | settings"):]
    table = table[:table.index("\n\n")]
    rows = re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE)
    assert sorted(rows) == sorted(LAYER_KINDS)


def test_ci_runs_what_readme_shows() -> None:
    """The test command on README's front page is the one CI runs, with the extras it names."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install ".[test]" && pytest\n' in readme
    assert re.search(r'^python -m pip install --quiet "\.\[test,dev\]"$', ci, re.MULTILINE)
    assert re.search(r"^pytest$", ci, re.MULTILINE)
    assert re.search(r"^mkdocs build --strict\b", ci, re.MULTILINE)


@pytest.mark.parametrize(("expected", "actual", "result"), [
    (["a", "...", "c"], ["a", "b", "b", "c"], True),
    (["a", "...", "c"], ["a", "c"], True),
    (["a", "...", "c"], ["a", "b"], False),
    (["a", "...", "a"], ["a"], False),
    (["..."], [], True),
    (["a", "...", "b", "...", "d"], ["a", "x", "b", "y", "d"], True),
    (["a", "...", "b", "...", "d"], ["a", "x", "y", "d"], False),
    ([], ["x"], False),
    (["a"], ["a", "b"], False),
], ids=["middle", "empty-middle", "missing-tail", "overlap", "only", "two", "two-missing",
        "nothing-shown", "extra-line"])
def test_elision(expected: list[str], actual: list[str], result: bool) -> None:
    """A ``...`` line stands for any number of lines, and nothing else does."""
    assert matches(expected, actual) is result


def test_every_command_has_an_example() -> None:
    """Each command of ``convcalc --help`` is run by at least one example on some page (its
    ``--help`` will do where its output cannot be shown, as with timings)."""
    shown = {command.text.split()[1]
             for page in PAGES for block in blocks(page.read_text()) if block.lang == "console"
             for command in commands(block) if command.text.startswith("convcalc ")}
    assert set(main.commands) <= shown, f"commands without an example: {set(main.commands) - shown}"


def test_named_files_exist() -> None:
    """Every repository path the pages name in code spans (`convcalc/...`, `tests/...`) exists,
    so a moved module cannot leave a page pointing at nothing."""
    named = {path for page in PAGES for path in re.findall(
        r"`((?:convcalc|tests|benchmarks|architectures|devices)/[\w./-]*)`", page.read_text())}
    assert named, "no paths found: the pattern is wrong"
    assert not sorted(path for path in named if not (ROOT / path).exists())
