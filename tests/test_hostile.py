"""Hostile input, round 2 (issue 14): values YAML reads but Python refuses, explicit tags with bad
content, special files, control characters in error text, output files that are links, devices
or inputs, a stdout that cannot be written, empty networks, and generated YAML through the CLI.
Each class asserts the promise: one located line with exit status 2, or a correct result."""

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_commands_fuzz import assert_ran_or_refused, assert_refused
from test_robustness import _run_cli

import convcalc
from convcalc.analysis.report import analyze
from convcalc.analysis.summary import memory
from convcalc.cli import main
from convcalc.errors import MAX_MESSAGE_CHARS, ConvcalcError, one_line
from convcalc.formats.loader import builtin_names, locate, parse
from convcalc.inputs import read_input
from convcalc.output import write_atomically

HEAD = "input: 8x8x3\nlayers:\n"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def refused(text: str, pattern: str) -> None:
    """parse + analyze of ``text`` (as bad.yaml) raises one ConvcalcError line matching."""
    with pytest.raises(ConvcalcError) as caught:
        analyze(parse(text, file="bad.yaml"))
    assert "\n" not in str(caught.value)
    assert re.match(pattern, str(caught.value)), str(caught.value)


# ---------------------------------------------------------------- 14.1 numbers

@pytest.mark.parametrize(("value", "pattern"), [
    ("9" * 5000, r"^bad\.yaml:3: a number of 5,000 characters; numbers are limited to 100$"),
    ("0x" + "f" * 5000, r"^bad\.yaml:3: a number of 5,002 characters"),
    ("0b" + "1" * 200, r"^bad\.yaml:3: a number of 202 characters"),
    ("1." + "5" * 300, r"^bad\.yaml:3: a number of 302 characters"),
    ("1:30", r"^bad\.yaml:3: '1:30' is a base-60 number to YAML 1\.1 \(1:30 reads as 90\)"),
    ("-1:30:00", r"^bad\.yaml:3: '-1:30:00' is a base-60 number"),
    ("1:30.5", r"^bad\.yaml:3: '1:30\.5' is a base-60 number"),
    ("0x_", r"^bad\.yaml:3: '0x_' is tagged '!!int' but is not a whole number"),
    ("0b__", r"^bad\.yaml:3: '0b__' is tagged '!!int' but is not a whole number"),
], ids=["decimal-5000", "hex-5000", "binary-200", "float-300", "base60", "base60-negative",
        "base60-float", "hex-underscores", "binary-underscores"])
def test_numbers_python_cannot_read_are_refused(value: str, pattern: str) -> None:
    # These were ValueErrors (Python's 4,300-digit limit, int('') ) or, for base 60, 90.
    refused(f"{HEAD}  - conv: {{filters: {value}, kernel: 3}}\n", pattern)


def test_a_long_number_as_a_repeat_or_a_key() -> None:
    refused(f"{HEAD}  - relu: {{}}\n    repeat: {'9' * 5000}\n", r"^bad\.yaml:4: a number of")
    refused(f"? {'9' * 5000}\n: 1\n{HEAD}  - relu\n", r"^bad\.yaml:1: a number of 5,000")


@pytest.mark.parametrize(("value", "filters"), [
    ("0x10", 16), ("017", 15), ("0b101", 5), ("1_000", 1000), ("+7", 7),
    ("16.0", 16), ("!!int '12'", 12), ("!!float 8", 8),
], ids=["hex", "octal", "binary", "underscores", "plus", "float-whole", "tagged-int",
        "tagged-float"])
def test_yaml_11_numbers_still_read(value: str, filters: int) -> None:
    # YAML 1.1's forms: 0x10 = 16, 017 = 1*8 + 7 = 15, 0b101 = 5; !!float 8 is 8.0.
    arch = parse(f"{HEAD}  - conv: {{filters: {value}, kernel: 1}}\n")
    assert analyze(arch).rows[0].output.c == filters


# ---------------------------------------------------------------- 14.2 tags and dates

@pytest.mark.parametrize(("text", "pattern"), [
    ("!!int abc", r"^bad\.yaml:1: 'abc' is tagged '!!int' but is not a whole number$"),
    ("!!float abc", r"^bad\.yaml:1: 'abc' is tagged '!!float' but is not a number$"),
    ("!!bool maybe", r"^bad\.yaml:1: 'maybe' is tagged '!!bool' but is not true or false$"),
    ("!!timestamp hello", r"^bad\.yaml:1: 'hello' is tagged '!!timestamp' but is not a date$"),
    ("!!null x", r"^bad\.yaml:1: 'x' is tagged '!!null' but is not null$"),
    ("!!int 1:30", r"^bad\.yaml:1: '1:30' is a base-60 number"),
    ("!!map [1]", r"^bad\.yaml:1: YAML tag '!!map' cannot mark a list; drop the tag$"),
    ("!!seq {a: 1}", r"^bad\.yaml:1: YAML tag '!!seq' cannot mark a mapping"),
    ("!!str [1]", r"^bad\.yaml:1: YAML tag '!!str' cannot mark a list"),
    ("!!map x", r"^bad\.yaml:1: YAML tag '!!map' cannot mark a value"),
    ("!!binary aGk=", r"^bad\.yaml:1: YAML tag 'tag:yaml.org,2002:binary' is not allowed"),
    ("!!int " + "7" * 200, r"^bad\.yaml:1: a number of 200 characters"),
    ("!!float --5", r"^bad\.yaml:1: '--5' is tagged '!!float' but is not a number$"),
], ids=lambda v: v[:20])
def test_explicit_tags_with_bad_content(text: str, pattern: str) -> None:
    # Each was a ValueError, KeyError or AttributeError from PyYAML's constructor.
    refused(f"description: {text}\n{HEAD}  - relu\n", pattern)


@pytest.mark.parametrize("date", ["2001-12-14", "2001-13-45", "2001-12-14 21:59:43.10 -5",
                                  "2002-02-30t00:00:00Z"])
def test_dates_where_text_is_expected_are_that_text(date: str) -> None:
    # 2001-13-45 (month 13) and February 30th were ValueErrors; dates were "must be text".
    arch = parse(f"name: {date}\ndescription: {date}\nsource: {date}\n{HEAD}  - relu\n")
    assert (arch.name, arch.description, arch.source) == (date, date, date)


@pytest.mark.parametrize("where", ["  - conv: {{filters: {}, kernel: 3}}\n",
                                   "  - {}\n", "  - relu: {{}}\n    repeat: {}\n"],
                         ids=["setting", "layer", "repeat"])
def test_dates_elsewhere_are_refused(where: str) -> None:
    # As text, 2001-12-14 would be arithmetic (1975 filters); no setting takes a date.
    refused(HEAD + where.format("2001-12-14"),
            r"^bad\.yaml:[34]: '2001-12-14' is a date to YAML, and no setting takes a date")


# ---------------------------------------------------------------- reading YAML from its events

def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


FORMS = """
ints: [0x1F, 017, 0b11, 1_000, +3, -0, 0]
floats: [1.5, -.inf, .5, 1.e+3, 6.8523015e+5, 1_0.5]
other: [yes, No, on, off, ~, null, '', "x", !!str 12, !!int "12", !!float "3"]
base: &b {kernel: 3, stride: [1, 2]}
uses: [*b, *b]
"""


@pytest.mark.parametrize("name", [*builtin_names(), "forms"])
def test_values_equal_pyyaml_safe_load(name: str) -> None:
    # PyYAML's own safe_load is the oracle: reading from the event stream changes no value.
    import yaml

    from convcalc.formats.yaml_reader import read_yaml
    from convcalc.limits import Budget

    text = FORMS if name == "forms" else locate(name).read_text()
    assert _plain(read_yaml(text, Budget())) == yaml.safe_load(text)


@pytest.mark.parametrize(("text", "pattern"), [
    ("a: &a [1, *a]\n", r"^bad\.yaml:1: alias '\*a' is inside the value it names$"),
    ("a: *nothing\n", r"^bad\.yaml:1: alias '\*nothing' names no anchor"),
    ("a: 1\n---\nb: 2\n", r"^bad\.yaml:2: holds more than one YAML document"),
    ("a: &deep " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*deep" + "]" * 30 + "\n",
     r"^bad\.yaml:2: is nested deeper than 64 levels$"),
    ("a: &k 1\n? *k\n: 2\n", r"^bad\.yaml:2: key 1 must be a word$"),
    ("a: &a {x: 1}\n<<: *a\n", r"^bad\.yaml:2: YAML merge keys \('<<'\) are not read"),
], ids=["recursive", "undefined", "two-documents", "deep-through-alias", "alias-key", "merge"])
def test_aliases_documents_and_depth(text: str, pattern: str) -> None:
    # A recursive alias made an endless structure; 40 levels used at depth 30 are 70.
    refused(text + HEAD + "  - relu\n", pattern)


# ---------------------------------------------------------------- 14.8 special files

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_without_reading(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    # /dev/zero reports size 0, so a size check alone read it until memory ran out.
    assert_refused(invoke("analyze", device),
                   f"{device}: is a device; convcalc reads only regular files")


def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    # Opening a FIFO for reading waited forever for a writer. A real process, with a timeout.
    os.mkfifo(tmp_path / "pipe.yaml")
    done, _ = _run_cli("analyze", "pipe.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "Error: pipe.yaml: is a pipe (FIFO); convcalc reads only regular files"


def test_a_socket_and_a_link_to_a_device_are_refused(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.yaml"))
        assert_refused(invoke("analyze", str(tmp_path / "s.yaml")), "is a socket")
    finally:
        server.close()
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    assert_refused(invoke("analyze", str(tmp_path / "zero.yaml")), "zero.yaml: is a device")


def test_read_input_stops_at_limit_plus_one_byte(tmp_path: Path) -> None:
    (tmp_path / "eleven").write_bytes(b"x" * 11)
    with pytest.raises(ConvcalcError, match=r"^.*eleven: is 11 bytes; tests are limited to 10$"):
        read_input(tmp_path / "eleven", 10, "tests")
    assert read_input(tmp_path / "eleven", 11, "tests") == b"x" * 11
    # /proc files report size 0 like devices but are regular: only the bytes read count.
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("no /proc")
    assert status.stat().st_size == 0
    with pytest.raises(ConvcalcError, match=r"^/proc/self/status: has more than 10 bytes"):
        read_input(status, 10, "tests")


def test_every_file_reader_goes_through_inputs() -> None:
    # One reader of input bytes: no module but convcalc.inputs opens files for reading itself.
    package = Path(convcalc.__file__).parent
    # np.load(f, ...) reads a file that open_input opened.
    readers = re.compile(r"\bopen\(|\.read_bytes\(|\.read_text\(|np\.load\((?!f,)|np\.loadtxt\(")
    offenders = []
    for module in sorted(package.rglob("*.py")):
        if module.name in ("inputs.py", "output.py"):
            continue
        for number, line in enumerate(module.read_text().splitlines(), 1):
            if readers.search(line) and "os.open(" not in line:
                offenders.append(f"{module.relative_to(package)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("role", ["INPUT", "--filter"])
def test_conv_matrix_files_that_are_not_files(role: str, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.csv")
    for path, kind in [(tmp_path / "pipe.csv", "a pipe (FIFO)"), ("/dev/zero", "a device")]:
        args = (str(path),) if role == "INPUT" else ("--example", "step", "--filter", str(path))
        assert_refused(invoke("conv", *args), f"{path}: is {kind}; convcalc reads only")


def test_a_npy_of_huge_strings_is_refused_from_its_header(tmp_path: Path) -> None:
    import numpy as np

    # A 4 x 4 array of 10^8-character strings would need 6.4 GB to load; the header says so.
    header = {"descr": "<U100000000", "fortran_order": False, "shape": (4, 4)}
    with (tmp_path / "s.npy").open("wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
    assert_refused(invoke("conv", str(tmp_path / "s.npy")),
                   "s.npy: needs an h x w (or h x w x c) matrix of numbers, not <U100000000")


# ---------------------------------------------------------------- 14.10 error text

def test_a_newline_in_a_value_stays_one_line() -> None:
    refused(f'{HEAD}  - conv: {{filters: "a\\nb", kernel: 3}}\n',
            r"^bad\.yaml:3: layer '0' \(conv\): 'a\\nb' is neither a number nor a formula")


def test_control_characters_in_names_are_escaped(tmp_path: Path) -> None:
    # ESC [31m would turn the terminal red; U+202E reverses the text after it.
    text = f'{HEAD}  - "co\\e[31mnv\\u202e": {{filters: 4}}\n'
    refused(text, r"^bad\.yaml:3: text 'co\\x1b\[31mnv\\u202e' holds the control character "
                  r"'\\x1b'; write printable text$")
    # The file name too: a newline, an ESC and an undecodable byte (a lone surrogate).
    name = "a\nb\x1b\udcff.yaml"
    (tmp_path / name).write_text(f"{HEAD}  - bogus\n")
    result = invoke("analyze", str(tmp_path / name))
    assert_refused(result, "a\\nb\\x1b\\udcff.yaml:3: unknown layer kind or block 'bogus'")
    assert "\x1b" not in result.stderr


@pytest.mark.parametrize("text", [r'"\e[2J"', r'"a\u202eb"', r'"\x07"', r'"\x85"',
                                  "!!str \"\\e\""], ids=["esc", "bidi", "bell", "c1", "tagged"])
def test_control_characters_in_names_are_refused(text: str) -> None:
    # A name is printed in tables and reports: ESC [2J cleared the terminal on `analyze`.
    refused(f"name: {text}\n{HEAD}  - relu\n", r"^bad\.yaml:1: text '.*' holds the control "
            r"character '\\(x1b|u202e|x07|x85)'; write printable text$")


def test_newlines_and_tabs_in_a_description_are_text() -> None:
    arch = parse(f'name: "a\\tb"\ndescription: |\n  two\n  lines\n{HEAD}  - relu\n')
    assert (arch.name, arch.description) == ("a\tb", "two lines")


def test_a_file_name_as_the_network_name_is_escaped(tmp_path: Path) -> None:
    # Without a 'name', the file's name is the network's, printed raw in report headings.
    path = tmp_path / "\x1b[7mX.yaml"
    path.write_text(f"{HEAD}  - relu\n")
    result = invoke("report", str(path))  # text tables for the terminal
    assert result.exit_code == 0 and "\x1b" not in result.stdout
    assert result.stdout.splitlines()[0].startswith("\\x1b[7mX, input ")
    result = invoke("report", str(path), "--format", "md")
    assert result.exit_code == 0 and "\x1b" not in result.stdout
    heading = result.stdout.splitlines()[2]
    assert heading.startswith("## ") and "x1b" in heading and heading.endswith("7mX")


def test_one_line_escapes_and_shortens() -> None:
    assert one_line("tab\there\r\n\x00\x7f\x85\u2028") == "tab\\there\\r\\n\\x00\\x7f\\x85\\u2028"
    assert one_line("plain text, é, 日本") == "plain text, é, 日本"
    long = "start " + "x" * 10_000 + " the fix"
    short = one_line(long)
    assert short.startswith("start ") and short.endswith(" the fix")
    assert len(short) < MAX_MESSAGE_CHARS + 50 and "[... 8,014 characters ...]" in short


# ---------------------------------------------------------------- 14.11 output files

def test_output_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real.md").write_text("old")
    (tmp_path / "real.md").chmod(0o640)
    (tmp_path / "link.md").symlink_to("real.md")
    assert invoke("report", "lenet5", "-o", str(tmp_path / "link.md")).exit_code == 0
    assert (tmp_path / "link.md").is_symlink()
    assert (tmp_path / "real.md").read_text().startswith("# convcalc report\n\n## lenet5")
    assert stat.S_IMODE((tmp_path / "real.md").stat().st_mode) == 0o640
    (tmp_path / "dangling.md").symlink_to("new.md")
    assert invoke("report", "lenet5", "-o", str(tmp_path / "dangling.md")).exit_code == 0
    assert (tmp_path / "dangling.md").is_symlink()
    assert (tmp_path / "new.md").read_text().startswith("# convcalc report\n\n## lenet5")


def test_output_to_a_character_device_writes_through(tmp_path: Path) -> None:
    # Renaming over /dev/null replaced the device node (as root, for every program).
    before = os.stat("/dev/null")
    result = invoke("report", "lenet5", "--format", "md", "-o", "/dev/null")
    assert result.exit_code == 0, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    if os.path.exists("/dev/full"):
        assert_refused(invoke("report", "lenet5", "--format", "md", "-o", "/dev/full"),
                       "cannot write '/dev/full': No space left on device")


def test_output_to_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "out.md"
    os.mkfifo(fifo)
    # Nobody reads it: refused at once instead of waiting.
    assert_refused(invoke("report", "lenet5", "-o", str(fifo)),
                   f"cannot write '{fifo}': no process is reading the pipe")
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    for _ in range(200):  # until the reader has opened its end
        try:
            write_atomically(fifo, "through the pipe\n")
            break
        except ConvcalcError:
            threading.Event().wait(0.01)
    reader.join(10)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("spelling", ["same", "symlink", "hardlink", "dotted"])
def test_output_equal_to_an_input_is_refused(spelling: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    original = locate("lenet5").read_text()
    Path("net.yaml").write_text(original)
    target = {"same": "net.yaml", "symlink": "alias.yaml", "hardlink": "hard.yaml",
              "dotted": "./sub/../net.yaml"}[spelling]
    Path("sub").mkdir()
    Path("alias.yaml").symlink_to("net.yaml")
    os.link("net.yaml", "hard.yaml")
    assert_refused(invoke("report", "net.yaml", "--format", "md", "-o", target),
                   f"cannot write '{Path(target)}': it is the input 'net.yaml'")
    assert Path("net.yaml").read_text() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.yaml", "hard.yaml",
                                                          "net.yaml", "sub"]


def test_an_empty_output_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # conv took -o '' as no -o at all and wrote nothing without a word.
    monkeypatch.chdir(tmp_path)
    assert_refused(invoke("conv", "--example", "step", "-o", ""),
                   "cannot write to an empty file name")
    assert_refused(invoke("report", "lenet5", "--format", "md", "-o", ""),
                   "cannot write to an empty file name")
    assert list(tmp_path.iterdir()) == []


def test_conv_output_equal_to_its_input_is_refused(tmp_path: Path) -> None:
    matrix = tmp_path / "m.csv"
    matrix.write_text("1,2,3\n4,5,6\n7,8,9\n")
    assert_refused(invoke("conv", str(matrix), "-o", str(matrix)), "it is the input")
    assert matrix.read_text() == "1,2,3\n4,5,6\n7,8,9\n"
    kernel = tmp_path / "k.csv"
    kernel.write_text("1,0\n0,1\n")
    assert_refused(invoke("conv", "--example", "step", "--filter", str(kernel), "-o",
                          str(kernel)), "it is the input")


NAME_PIECES = st.sampled_from(["out", ".md", ".csv", ".npy", "/", "..", ".", "\n", "\x1b",
                               " ", "-", "x" * 120, "sub/", "net.yaml", "link", "dev", ""])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.lists(NAME_PIECES, min_size=1, max_size=5).map("".join),
       command=st.sampled_from([("report", "net.yaml", "--format", "md"),
                                ("conv", "--example", "step")]))
# Through a folder that does not exist: 'out/..' is the working folder, 'out/../net.yaml' the
# input; both are refused before anything is printed or written, as open() refuses them.
@example(name="out/..", command=("conv", "--example", "step"))
@example(name="out/../net.yaml", command=("report", "net.yaml", "--format", "md"))
def test_random_output_names(name: str, command: tuple[str, ...], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever -o names: a whole file or one error line, report's input untouched, and no
    # temporary file left behind.
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    monkeypatch.chdir(work)
    Path("net.yaml").write_text(f"{HEAD}  - relu\n")
    Path("sub").mkdir(exist_ok=True)
    if not Path("link").is_symlink():
        Path("link").symlink_to("net.yaml")
    result = invoke(*command, "-o", name)
    if result.exit_code != 0:
        assert_refused(result)
    if command[0] == "report":
        assert Path("net.yaml").read_text() == f"{HEAD}  - relu\n"
    assert not list(tmp_path.rglob("*.tmp"))


def _cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    package_root = str(Path(convcalc.__file__).resolve().parent.parent)
    return subprocess.run([sys.executable, "-m", "convcalc", *args], timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": package_root}, **kwargs)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [("analyze", "lenet5", "--format", "json"),
                                  ("report", "resnet50"), ("verify", "lenet5"), ("--help",)],
                         ids=["small", "large", "verify", "help"])
def test_stdout_on_a_full_disk(args: tuple[str, ...]) -> None:
    # The small output failed at exit ("Exception ignored", status 120), the large one as an
    # OSError traceback in click.echo.
    with open("/dev/full", "wb") as full:
        done = _cli(*args, stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 2
    assert done.stderr == b"Error: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("args", [("analyze", "lenet5"), ("--help",)], ids=["table", "help"])
def test_stdout_closed_from_the_start(args: tuple[str, ...], tmp_path: Path) -> None:
    # `convcalc analyze lenet5 >&-`: sys.stdout is None; the output was dropped without a word
    # (or, with the boundary's flush, an AttributeError). A report to a file needs no stdout.
    package_root = str(Path(convcalc.__file__).resolve().parent.parent)
    for command, status, error in [(args, 2, b"Error: cannot write the output: standard "
                                    b"output is closed\n"),
                                   (("report", "lenet5", "-o", "out.md"), 0, b"")]:
        done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m",
                               "convcalc", *command], capture_output=True, timeout=60,
                              check=False, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": package_root})
        assert (done.returncode, done.stderr) == (status, error)
    assert (tmp_path / "out.md").read_text().startswith("# convcalc report")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_stderr_on_a_full_disk_keeps_exit_status_2() -> None:
    # The error line could not be written: a traceback nobody saw, and exit status 1.
    with open("/dev/full", "wb") as full:
        done = _cli("analyze", "no-such-net", stderr=full)
    assert done.returncode == 2


def test_stdout_closed_early_is_quiet() -> None:
    # `convcalc report resnet50 | head -c 1`: the reader leaves; no traceback.
    package_root = str(Path(convcalc.__file__).resolve().parent.parent)
    with subprocess.Popen([sys.executable, "-m", "convcalc", "report", "resnet50"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, "PYTHONPATH": package_root}) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(1)
        process.stdout.close()
        error = process.stderr.read()
        assert process.wait(60) in (0, 1)
    assert b"Traceback" not in error and b"Exception ignored" not in error


# ---------------------------------------------------------------- 14.12 and 14.6

EMPTY = "input: 8x8x3\nlayers: []\n"
SIDE_ONLY = f"{HEAD}  - side: {{layers: [relu]}}\n"


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("text", [EMPTY, SIDE_ONLY], ids=["empty", "side-only"])
@pytest.mark.parametrize("args", [
    ("report", "{}"), ("report", "{}", "lenet5", "--format", "json"),
    ("report", "lenet5", "{}", "--format", "json"), ("report", "{}", "--format", "html"),
    ("report", "{}", "--format", "csv"), ("report", "{}", "--format", "tex"),
    ("report", "{}", "--depth", "1"), ("compare", "{}", "lenet5", "--format", "json"),
    ("compare", "{}", "--format", "json"), ("compare", "{}", "lenet5"), ("verify", "{}"),
    ("analyze", "{}", "--format", "json"), ("sweep", "{}", "--format", "json"),
], ids=" ".join)
def test_empty_and_side_only_networks(text: str, args: tuple[str, ...], tmp_path: Path) -> None:
    # report raised IndexError and verify ValueError; compare's JSON said NaN. Either the
    # network is refused in one line or every command gives a whole, strict result.
    net = tmp_path / "net.yaml"
    net.write_text(text)
    result = invoke(*[a.format(net) for a in args])
    assert_ran_or_refused(result)
    if result.exit_code == 0 and "json" in args:
        _strict_json(result.stdout)


def test_every_json_dump_refuses_nan() -> None:
    # Python writes NaN and Infinity, which strict JSON parsers refuse; allow_nan=False makes
    # such a value a bug that shows instead of a file other tools cannot read.
    package = Path(convcalc.__file__).parent
    for module in sorted(package.rglob("*.py")):
        text = module.read_text()
        writers = text.count("json.dumps(") + text.count("JSONEncoder(")
        assert writers == text.count("allow_nan=False"), module.name


def test_ratios_to_an_empty_network_are_null_not_nan(tmp_path: Path) -> None:
    (tmp_path / "net.yaml").write_text(EMPTY)
    result = invoke("compare", str(tmp_path / "net.yaml"), "lenet5", "--format", "json")
    if result.exit_code == 2:  # the analysis may refuse empty networks outright
        assert_refused(result)
        return
    networks = _strict_json(result.stdout)["networks"]
    assert [n["macs_ratio"] for n in networks] == [None, None]


def test_memory_of_a_network_without_counted_layers() -> None:
    try:
        report = analyze(parse(SIDE_ONLY))
    except ConvcalcError:
        return  # refused outright is the other way to keep the promise
    # Only the 8x8x3 input is alive: 192 elements x 4 bytes = 768.
    assert memory(report).peak_bytes == 768


def test_a_name_too_long_for_the_file_system() -> None:
    # Path.exists raised ENAMETOOLONG past 255 bytes; the output's temporary name too.
    long = "x" * 300
    assert_refused(invoke("analyze", long), f"{long}: cannot read: File name too long")
    assert_refused(invoke("report", long + ".yaml"), "cannot read: File name too long")
    assert_refused(invoke("report", "lenet5", "-o", long + ".md"), "File name too long")


def test_a_long_output_name_that_fits(tmp_path: Path) -> None:
    name = "y" * 250 + ".md"  # 253 bytes: the file fits, a longer temporary name would not
    assert invoke("report", "lenet5", "-o", str(tmp_path / name)).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == [name]


# ---------------------------------------------------------------- 14.9 YAML values budget

def test_many_flow_scalars_are_refused_while_streaming(tmp_path: Path) -> None:
    # 5 MiB of `1,1,1,...`: 2.6 million values. It was refused after composing all of them
    # (10 s and 808 MB); now at the 200,001st value, with memory bounded.
    (tmp_path / "flow.yaml").write_text("input: 8x8x3\nlayers: [" + ",".join(
        ["1"] * (2_500_000)) + "]\n")
    done, peak_mib = _run_cli("analyze", "flow.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "Error: flow.yaml:2: has more than 200,000 YAML values (after aliases " \
                          "are expanded)"
    assert peak_mib < 100


# ---------------------------------------------------------------- 15.7 YAML syntax hints

@pytest.mark.parametrize(("text", "hint"), [
    (f"{HEAD}\t- relu\n", "YAML does not allow tabs for indentation: use spaces"),
    (f"{HEAD}  - relu\n\t- relu\n", "YAML does not allow tabs for indentation"),
    (f"{HEAD}  - conv: {{filters: 4}}\n   - relu\n", "check the indentation"),
    (f"{HEAD}  - conv:\n      filters: 4\n     kernel: 3\n", "check the indentation"),
    ("input: 8x8x3\n layers: [relu]\n", "is the line indented further than the one before"),
], ids=["tab", "tab-later", "list", "mapping", "deeper"])
def test_yaml_syntax_errors_get_a_hint(text: str, hint: str) -> None:
    refused(text, rf"^bad\.yaml:\d+: not valid YAML: .*; {re.escape(hint)}")


# ---------------------------------------------------------------- generated YAML through the CLI

# Raw scalars as a hostile file writes them: numbers Python refuses, YAML 1.1 oddities,
# tags, dates, control characters, formulas and plain values.
PLAIN = st.sampled_from(["4", "3", "1", "2", "same", "valid", "true", "false"])
SCALARS = st.one_of(PLAIN, PLAIN, PLAIN, PLAIN, st.sampled_from([
    "0", "-3", "1:30", "0x" + "f" * 120, "9" * 4400, "1e999", ".nan", "-.inf", "0b_", "017",
    "2001-13-45", "2001-12-14", "!!int abc", "!!bool maybe", "!!timestamp x", "!!float 1:2.5",
    "!!null 3", "!!str 12", r'"\e[2J"', r'"a\nb"', r'"\u202e"', "c * 2", "min(c)", "~", "yes",
    "[1, 2]", "{}", "&a 3", "'x' ",
]))
KEYS = st.sampled_from(["filters", "kernel", "stride", "padding", "groups", "bias", "repeat",
                        "name", "rate", "size", "units", "dilation", "kernal", r'"\e[31m"'])
KINDS = st.sampled_from(["conv", "dwconv", "relu", "maxpool", "avgpool", "dense", "flatten",
                         "batchnorm", "dropout", "global_avgpool", "zeropad", "softmax", "bogus"])


@st.composite
def layer_lists(draw: st.DrawFn, indent: int, depth: int) -> str:
    pad = " " * indent
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        shape = draw(st.sampled_from(["leaf", "leaf", "leaf", "group", "residual", "concat",
                                      "side"] if depth < 3 else ["leaf"]))
        if shape == "leaf":
            kind = draw(KINDS)
            settings_ = ", ".join(f"{draw(KEYS)}: {draw(SCALARS)}"
                                  for _ in range(draw(st.integers(0, 3))))
            lines.append(f"{pad}- {kind}: {{{settings_}}}")
            if draw(st.booleans()) and draw(st.booleans()):
                lines.append(f"{pad}  repeat: {draw(SCALARS)}")
        elif shape == "concat":
            lines.append(f"{pad}- concat:\n{pad}    branches:")
            for _ in range(draw(st.integers(1, 3))):
                lines.append(f"{pad}      -")
                lines.append(draw(layer_lists(indent + 8, depth + 1)) or f"{pad}        - relu")
        else:
            lines.append(f"{pad}- {shape}:\n{pad}    layers:")
            lines.append(draw(layer_lists(indent + 6, depth + 1)) or f"{pad}      []")
    return "\n".join(lines)


@st.composite
def architectures(draw: st.DrawFn) -> str:
    shapes = st.sampled_from(["16x16x3", "8x8x4", "1x1x1", "[9, 9, 2]"])
    top = [f"input: {draw(st.one_of(shapes, shapes, shapes, SCALARS))}"]
    if draw(st.booleans()):
        top.append(f"name: {draw(st.one_of(st.just('net'), SCALARS))}")
    top.append("layers:")
    body = draw(layer_lists(2, 0))
    return "\n".join(top) + "\n" + (body or "  []") + "\n"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=architectures(), command=st.sampled_from([
    ("analyze", "{}", "--format", "json"), ("report", "{}", "--format", "json"),
    ("compare", "lenet5", "{}", "--format", "json"), ("analyze", "{}")]))
def test_generated_architectures_keep_the_promise(text: str, command: tuple[str, ...],
                                                  tmp_path_factory: pytest.TempPathFactory
                                                  ) -> None:
    path = tmp_path_factory.mktemp("gen") / "gen.yaml"
    path.write_text(text)
    result = invoke(*[a.format(path) for a in command])
    assert_ran_or_refused(result)
    if result.exit_code == 0 and "json" in command:
        _strict_json(result.stdout)


# Raw YAML tokens to splice into the zoo's own text, where a value stood.
SPLICED = st.sampled_from([
    "1:30", "9" * 5000, "0x" + "f" * 5000, "!!int abc", "!!float abc", "!!bool maybe",
    "!!timestamp hello", "2001-13-45", "\"a\\nb\"", "\"\\e[31m\"", "!!python/name:os.system",
    "*undefined", "&anchor", "[", "{", "!!map [1]", "\t", ".nan", "-.inf", "0b_", "~",
])


@pytest.mark.parametrize("name", builtin_names())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_zoo_files_with_hostile_tokens_spliced_in(name: str, data: st.DataObject) -> None:
    lines = locate(name).read_text().splitlines()
    values = [i for i, line in enumerate(lines) if re.search(r":\s+\S", line)]
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.sampled_from(values))
        key = lines[index].split(":", 1)[0]
        lines[index] = f"{key}: {data.draw(SPLICED)}"
    try:
        analyze(parse("\n".join(lines) + "\n", file=f"{name}.yaml"))
    except ConvcalcError as e:
        assert str(e).startswith(f"{name}.yaml"), str(e)
        assert str(e).isprintable(), str(e)
