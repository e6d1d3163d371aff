"""Screens that fit the terminal they are in: tables laid out to 80 and 120 columns in a real
pseudo-terminal, whole numbers and names, piped output whole and plain, one vocabulary of
format and dtype names on every command, and the Python API printing tables."""

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import catalogue_names
from convcalc.present.grid import Col, Grid, abbreviate_kind
from convcalc.present.results import family

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BUILTINS = ["alexnet", "bottleneck_example", "bottleneck_example_plain", "googlenet",
            "googlenet_torchvision", "inception_module", "lenet5", "mobilenet_v1",
            "mobilenet_v2", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
            "vgg16"]


def in_terminal(columns: int, *args: str) -> list[str]:
    """convcalc's lines, ANSI styles removed, as printed to a pseudo-terminal ``columns``
    wide (the width set with the TIOCSWINSZ ioctl, as a terminal emulator does)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen([sys.executable, "-m", "convcalc", *args], stdin=follower,
                               stdout=follower, stderr=follower, env=env | {"TERM": "xterm"})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0, b"".join(chunks).decode()
    text = ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n"))
    return text.splitlines()


def fits(lines: list[str], columns: int) -> None:
    assert lines, "nothing printed"
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert not any("…" in line for line in lines)


@pytest.mark.parametrize("columns", [80, 120])
def test_resnet50_table_fits_with_whole_numbers_and_names(columns: int) -> None:
    lines = in_terminal(columns, "analyze", "resnet50")
    fits(lines, columns)
    text = "\n".join(lines)
    # Exact totals from torchvision's resnet50 (docs/getting-started.md): 25,557,032
    # parameters and 4,089,184,256 multiply-accumulates at 224x224.
    assert "25,557,032 params" in text and "4,089,184,256 MACs" in text
    words = set(text.split())
    for name in ("conv1", "layer1.0.downsample.0", "layer4.2.conv3", "fc"):
        assert name in words
    assert "25.6M" in words and "4.09G" in words  # the totals row, whole
    header = lines[1]
    assert header.split()[:1] == ["Layer"] and "MACs" in header and "Params" in header
    if columns == 80:
        assert any(line.startswith("hidden to fit 80 columns: ") for line in lines)
        assert "--columns" in text


def test_list_fits_80_columns_one_line_per_architecture() -> None:
    lines = in_terminal(80, "list")
    fits(lines, 80)
    names = catalogue_names()
    rows = [line.split() for line in lines[2:] if line and line[0].isalnum()]
    assert [row[0] for row in rows[:len(names)]] == names
    assert set(BUILTINS) <= set(names)
    # name, input, params and MACs; the prose is left out, and the hint says how to show it
    assert all(len(row) == 4 for row in rows[:len(names)])
    assert len(lines) <= len(names) + len({family(n) for n in names}) + 6
    assert any(line.startswith("hidden to fit 80 columns: description, source") for line in lines)
    # a wider terminal shows the description, once for a family's scales
    text = "\n".join(in_terminal(120, "list"))
    assert text.count("EfficientNet-B0 to B7, MBConv blocks") == 1
    assert "ResNet-50, bottleneck blocks" in text


def test_compare_fits_80_columns() -> None:
    lines = in_terminal(80, "compare", "mobilenet_v1", "resnet50", "--convert", "standard")
    fits(lines, 80)
    text = "\n".join(lines)
    # MobileNet v1 (Howard et al. 2017, Table 1): 4,231,976 params, 568,740,352 MACs; its
    # full-convolution form 29,294,088 / 4,867,293,184 (Table 4's 29.3M and 4866M).
    for number in ("4,231,976", "568,740,352", "29,294,088", "4,867,293,184"):
        assert number in text
    assert "mobilenet_v1 (standard)" in text
    lines = in_terminal(80, "compare", "--input", "28x28x192", "--kernel", "5", "--filters",
                        "32", "--bottleneck", "16", "--expansion", "6")
    fits(lines, 80)
    # The lecture's numbers: 120,422,400 multiplies plain, 2,408,448 + 10,035,200 with the
    # bottleneck.
    text = "\n".join(lines)
    for number in ("120,422,400", "12,443,648", "2,408,448", "10,035,200"):
        assert number in text


def test_sweep_and_verify_fit_80_columns() -> None:
    lines = in_terminal(80, "sweep", "mobilenet_v1", "--width", "1,0.5", "--input", "224,128")
    fits(lines, 80)
    assert "568,740,352" in "\n".join(lines)  # Table 1 of the MobileNet paper, 569M
    lines = in_terminal(80, "verify", "lenet5")
    fits(lines, 80)
    assert any("layers match" in line for line in lines)


def test_piped_table_is_whole_and_has_no_trailing_spaces() -> None:
    out = CliRunner().invoke(main, ["analyze", "resnet50"]).stdout
    lines = out.splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert "\x1b[" not in out
    header = lines[1]
    for title in ("Layer", "Kind", "Input", "Output", "Kernel/stride", "Params", "MACs",
                  "Other ops", "Activations", "Receptive field"):
        assert title in header
    assert "batchnorm" in out and "global_avgpool" in out  # not abbreviated
    assert "hidden" not in out


# -- the layout itself ----------------------------------------------------------------------

GRID = Grid(
    title="t",
    columns=(Col("name", "Name"), Col("kind", "Kind"), Col("rf", "Receptive field"),
             Col("macs", "MACs", right=True), Col("note", "Note", wrap=True)),
    rows=[["a.b", "batchnorm", "7", "1,000", "one two three four"],
          ["c", "global_avgpool", "11", "20", "five"]],
    priority=("name", "macs", "kind", "note", "rf"),
    kinds=frozenset(["kind"]),
)


def test_full_layout_keeps_every_column_on_one_header_line() -> None:
    lines = GRID.text().splitlines()
    # Widths 4, 14, 15, 5 and 18 (the longest cell or title), two spaces apart.
    assert lines[1] == "Name  Kind            Receptive field   MACs  Note"
    assert lines[2] == "─" * (4 + 14 + 15 + 5 + 18 + 4 * 2)
    assert lines[3] == "a.b   batchnorm       7                1,000  one two three four"
    assert lines[4] == "c     global_avgpool  11                  20  five"


def test_narrow_layout_drops_by_priority_and_says_so() -> None:
    lines = GRID.text(width=24).splitlines()
    # name (3) + macs (5) + kind abbreviated to 'gavgpool' (8) + gaps = 20; 'note' needs 5
    # more (its longest word) and does not fit, nor does 'rf'.
    assert lines[1].split() == ["Name", "Kind", "MACs"]
    assert lines[3].split() == ["a.b", "bn", "1,000"]
    text = " ".join(lines)
    assert "bn = batchnorm" in text and "gavgpool = global_avgpool" in text
    assert "hidden to fit 24 columns: rf, note" in text


def test_wrapped_columns_never_cut_words() -> None:
    wide = GRID.text(width=30, columns=["name", "note"]).splitlines()
    assert [line[6:] for line in wide[3:5]] == ["one two three four", "five"]
    # 18 columns leave 12 (WRAP_MIN) for the note: two lines, words whole.
    narrow = GRID.text(width=18, columns=["name", "note"]).splitlines()
    assert [line[6:] for line in narrow[3:6]] == ["one two", "three four", "five"]


def test_a_wrapped_column_needs_its_least_width() -> None:
    grid = Grid(title="", columns=(Col("name", "Name"), Col("note", "Note", wrap=True,
                                                            least=20)),
                rows=[["abc", "one two three four five six"]], priority=("name", "note"))
    # 'Name' + 2 + 20 = 26 columns hold both, in lines of at most 20 characters; 25 do not
    assert grid.text(26).splitlines()[2:4] == ["abc   one two three four", "      five six"]
    assert "hidden to fit 25 columns: note" in " ".join(grid.text(25).split())


def test_columns_pick_and_order() -> None:
    lines = GRID.text(columns=["macs", "name"]).splitlines()
    assert lines[1].split() == ["MACs", "Name"]
    with pytest.raises(ConvcalcError, match=r"^column 'mac' is not one of "
                                            r"name,kind,rf,macs,note; did you mean 'macs'\?$"):
        GRID.text(columns=["mac"])


def test_kind_abbreviations() -> None:
    assert abbreviate_kind("depthwise (from conv)") == "dw (from conv)"
    assert abbreviate_kind("conv (from depthwise+pointwise)") == "conv (from dw+pw)"
    assert abbreviate_kind("batchnorm (side)") == "bn (side)"


def test_cli_columns_option() -> None:
    out = CliRunner().invoke(main, ["analyze", "lenet5", "--columns", "name,macs"]).stdout
    assert out.splitlines()[1].split() == ["Layer", "MACs"]
    result = CliRunner().invoke(main, ["list", "--columns", "nam"])
    assert result.exit_code == 2 and "did you mean 'name'?" in result.stderr
    for args in (["analyze", "lenet5", "--format", "json"], ["sweep", "lenet5", "--format",
                                                              "csv"]):
        result = CliRunner().invoke(main, [*args, "--columns", "name"])
        assert result.exit_code == 2
        assert result.stderr == ("Error: --columns picks the columns of the table; it does not "
                                 "go with --format\n")


# -- --depth ------------------------------------------------------------------------------------

def test_depth_folds_the_table_with_sums() -> None:
    result = CliRunner().invoke(main, ["analyze", "resnet50", "--depth", "1", "--format", "csv"])
    rows = {r.split(",")[0]: r.split(",") for r in result.stdout.splitlines()[1:]}
    # resnet50's layer1 by hand: block 0 = 64·64 + 3·3·64·64 + 64·256 + 64·256 (downsample)
    # weights plus batch norms 2·(64 + 64 + 256 + 256); blocks 1 and 2 = 256·64 + 3·3·64·64 +
    # 64·256 plus 2·(64 + 64 + 256).
    block0 = 64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256 + 2 * (64 + 64 + 256 + 256)
    block12 = 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)
    assert int(rows["layer1"][3]) == block0 + 2 * block12 == 215_808
    assert int(rows["layer1"][2]) == 3 * 10 + 2  # ten layers a block, downsample conv + bn
    assert int(rows["total"][3]) == 25_557_032
    deeper = CliRunner().invoke(main, ["analyze", "resnet50", "--depth", "2", "--format", "csv"])
    lines = deeper.stdout.splitlines()
    assert lines[0] == "Block,Kind,Layers,Params,MACs,Activations,Level"
    # layer1.0 by hand: params as block0 above; MACs 56·56·(64·64 + 9·64·64 + 64·256 + 64·256)
    # = 231,211,008; activations: six 56x56x64 outputs and six 56x56x256 ones.
    assert 56 * 56 * (64 * 64 + 9 * 64 * 64 + 2 * 64 * 256) == 231_211_008
    assert 6 * 56 * 56 * 64 + 6 * 56 * 56 * 256 == 6_021_120
    assert f"layer1.0,,12,{block0},231211008,6021120,2" in lines
    markdown = CliRunner().invoke(main, ["analyze", "resnet50", "--depth", "2", "--format",
                                         "md"]).stdout
    assert "| &emsp;layer1.0 |  | 12 | 75,008 |" in markdown
    table = CliRunner().invoke(main, ["analyze", "resnet50", "--depth", "2"]).stdout
    assert "\n  layer1.0 " in table and "layer1.0.conv1" not in table
    data = json.loads(CliRunner().invoke(main, ["analyze", "resnet50", "--depth", "1",
                                                "--format", "json"]).stdout)
    assert data["depth"] == 1 and data["blocks"][4]["name"] == "layer1"
    assert data["blocks"][4]["params"] == 215_808


# -- merges show all their inputs ---------------------------------------------------------------

def test_merge_rows_show_every_input() -> None:
    out = CliRunner().invoke(main, ["analyze", "resnet50"]).stdout
    add = next(line for line in out.splitlines() if line.startswith("layer1.0.add "))
    assert "56x56x256 \N{MULTIPLICATION SIGN}2" in add
    out = CliRunner().invoke(main, ["analyze", "inception_module"]).stdout
    concat = next(line for line in out.splitlines() if "concat" in line.split()[1:2])
    # Inception 3a (Szegedy et al. 2014, Table 1): 64 + 128 + 32 + 32 channels.
    assert "28x28x(64+128+32+32)" in concat and "28x28x256" in concat
    data = json.loads(CliRunner().invoke(main, ["analyze", "resnet50", "--format",
                                                "json"]).stdout)
    add_row = next(r for r in data["layers"] if r["name"] == "layer1.0.add")
    assert add_row["from"] == ["layer1.0.bn3", "layer1.0.downsample.1"]


# -- one vocabulary -----------------------------------------------------------------------------

SPELLINGS = [
    (["analyze", "lenet5", "--format"], "md", "markdown"),
    (["compare", "lenet5", "alexnet", "--format"], "md", "markdown"),
    (["sweep", "lenet5", "--format"], "md", "markdown"),
    (["report", "lenet5", "--format"], "md", "markdown"),
    (["report", "lenet5", "--format"], "tex", "latex"),
    (["analyze", "lenet5", "--dtype"], "fp32", "float32"),
    (["analyze", "lenet5", "--dtype"], "fp16", "float16"),
    (["analyze", "lenet5", "--dtype"], "bf16", "bfloat16"),
    (["compare", "lenet5", "alexnet", "--dtype"], "fp16", "float16"),
    (["report", "lenet5", "--dtype"], "fp16", "FLOAT16"),
    (["verify", "lenet5", "--dtype"], "fp64", "float64"),
    (["verify", "lenet5", "--dtype"], "fp32", "float32"),
]


@pytest.mark.parametrize(("args", "one", "other"), SPELLINGS,
                         ids=[f"{a[0]}-{one}-{other}" for a, one, other in SPELLINGS])
def test_every_command_accepts_both_spellings(args: list[str], one: str, other: str) -> None:
    first = CliRunner().invoke(main, [*args, one])
    second = CliRunner().invoke(main, [*args, other])
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout


def test_dtype_changes_the_bytes() -> None:
    # resnet50's 25,557,032 parameters at two bytes each.
    out = CliRunner().invoke(main, ["analyze", "resnet50", "--dtype", "float16", "--format",
                                    "json"]).stdout
    assert json.loads(out)["totals"]["param_bytes"] == 2 * 25_557_032
    assert json.loads(out)["dtype"] == "fp16"
    out = CliRunner().invoke(main, ["analyze", "resnet50", "--dtype", "int8"]).stdout
    assert "at int8" in out


def test_verify_accepts_every_storage_type() -> None:
    result = CliRunner().invoke(main, ["verify", "lenet5", "--dtype", "int8"])
    assert result.exit_code == 0 and "all 13 layers match" in result.stdout


# -- help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", sorted(main.commands))
def test_help_shows_examples(command: str) -> None:
    out = CliRunner().invoke(main, [command, "--help"], terminal_width=80).stdout
    examples = out.split("Examples:\n", 1)[1].splitlines()
    assert examples[0].split()[:2] == ["convcalc", command] and examples[0].startswith("    ")


def test_top_level_summaries_are_whole_sentences() -> None:
    out = CliRunner().invoke(main, ["--help"], terminal_width=80).stdout
    assert 'eval "$(_CONVCALC_COMPLETE=bash_source convcalc)"' in out
    commands = out.split("Commands:\n", 1)[1]
    assert "..." not in commands
    assert "(a built-in name or a YAML file)." in " ".join(commands.split())


def test_conv_usage_shows_input_as_optional() -> None:
    out = CliRunner().invoke(main, ["conv", "--help"]).stdout
    assert "conv [OPTIONS] [INPUT]\n" in out


# -- the Python API -----------------------------------------------------------------------------

def test_print_report_is_the_table() -> None:
    report = convcalc.analyze(convcalc.load("resnet50"))
    text = str(report)
    assert text.splitlines()[1].split()[:2] == ["Layer", "Kind"]
    assert "25,557,032 params" in text and "layer4.2.conv3" in text
    assert "Report(" not in text
    assert report._repr_markdown_().startswith("| Layer | Kind |")
    html = report._repr_html_()
    assert html.startswith('<div class="convcalc">') and "<td>layer4.2.conv3</td>" in html


def test_report_renders_in_rich() -> None:
    from rich.console import Console

    console = Console(width=80, record=True, force_terminal=False)
    console.print(convcalc.analyze(convcalc.load("resnet50")))
    lines = console.export_text().splitlines()
    fits(lines, 80)
    assert any(line.startswith("hidden to fit 80 columns") for line in lines)


def test_table_is_one_call(tmp_path: Path) -> None:
    # MobileNet v1 at 160x160 (Howard et al. 2017, Table 7): 290M multiplies, exactly
    # 290,675,200 (the sweep on the docs' Comparing designs page).
    text = convcalc.table("mobilenet_v1", input=160)
    assert "290,675,200 MACs" in text
    assert json.loads(convcalc.table("mobilenet_v1", input="160x160", format="json"))[
        "totals"]["macs"] == 290_675_200
    assert convcalc.table("lenet5", format="md") == convcalc.table("lenet5", format="markdown")
    narrow = convcalc.table("resnet50", line_width=80)
    assert max(map(len, narrow.splitlines())) <= 80 and "columns=[" in narrow


def test_control_characters_from_a_file_are_shown_not_sent() -> None:
    grid = Grid(title="net\x1b[31m", columns=(Col("name", "Name"), Col("d", "Description")),
                rows=[["a", "clears \x1b[2J the screen"]], caption="c\x07")
    for text in (grid.text(), grid.text(width=40), grid.text(width=80, styled=True)):
        assert "\x1b[2J" not in text and "\x07" not in text
        assert "\\x1b[2J" in text and "net\\x1b[31m" in text
