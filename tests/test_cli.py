"""The command line: formats, the JSON contract, exit codes, one-line errors, start-up imports."""

import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc.cli import main

BOTTLENECK = textwrap.dedent("""
    name: lecture
    input: 28x28x192
    layers:
      - conv: {name: squeeze, filters: 16, kernel: 1, bias: false}
      - conv: {name: conv5x5, filters: 32, kernel: 5, padding: same, bias: false}
    """)


def run(*args: str) -> "object":
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def lecture_file(tmp_path: Path) -> Path:
    path = tmp_path / "lecture.yaml"
    path.write_text(BOTTLENECK)
    return path


def test_json_contract(lecture_file: Path) -> None:
    result = run("analyze", str(lecture_file), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "lecture" and data["input"] == [28, 28, 192]
    squeeze, conv = data["layers"]
    assert squeeze == squeeze | {"name": "squeeze", "kind": "conv", "input": [28, 28, 192],
                                 "output": [28, 28, 16], "params": 192 * 16,
                                 "macs": 2_408_448, "kernel": [1, 1], "stride": [1, 1],
                                 "padding": [0, 0, 0, 0], "groups": 1, "from": ["input"]}
    assert conv["macs"] == 10_035_200 and conv["padding"] == [2, 2, 2, 2]
    assert conv["from"] == ["squeeze"]
    assert data["totals"]["macs"] == 12_443_648
    assert data["totals"]["flops"] == 2 * 12_443_648
    assert data["totals"]["params"] == 192 * 16 + 25 * 16 * 32


def test_table_shows_human_units_and_totals(lecture_file: Path) -> None:
    result = run("analyze", str(lecture_file))
    assert result.exit_code == 0
    assert "conv5x5" in result.stdout and "5x5/1 p2" in result.stdout
    assert "10M" in result.stdout and "12.4M" in result.stdout  # 10,035,200 and the total
    assert "12,443,648 MACs" in result.stdout


def test_csv_and_markdown_carry_exact_numbers(lecture_file: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run("analyze", str(lecture_file), "--format",
                                                "csv", "--flops").stdout)))
    assert [int(r["macs"]) for r in rows] == [2_408_448, 10_035_200]
    assert [int(r["flops"]) for r in rows] == [4_816_896, 20_070_400]
    markdown = run("analyze", str(lecture_file), "--format", "markdown").stdout
    assert "| squeeze | conv | 28x28x192 | 28x28x16 |" in markdown
    assert "**12,443,648**" in markdown


def test_input_and_width_options() -> None:
    data = json.loads(run("analyze", "resnet50", "--input", "160", "--width", "0.5",
                          "--format", "json").stdout)
    assert data["input"] == [160, 160, 3]
    assert data["layers"][0]["output"] == [80, 80, 32]  # 64 * 0.5 filters


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "nonet"], "Error: no file and no built-in architecture named 'nonet'"),
        (["analyze", "resnet50", "--input", "abc"], "Error: input 'abc' must be HxWxC"),
        (["analyze", "resnet50", "--width", "-1"], "Error: width -1.0 must be above 0"),
        (["analyze", "resnet50", "--format", "yaml"], "Usage: main analyze"),
    ],
    ids=["unknown-arch", "bad-input", "bad-width", "bad-format"],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1 or message.startswith("Usage")


def test_too_small_input_names_the_layer(tmp_path: Path) -> None:
    net = tmp_path / "lenet.yaml"
    net.write_text("input: 32x32x1\nlayers:\n  - conv: {name: c1, filters: 6, kernel: 5}\n")
    result = run("analyze", str(net), "--input", "4")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {net}:3: layer 'c1' (conv): kernel 5 (dilation 1) is "
                             "larger than the padded input 4 + 0; use a smaller kernel or more "
                             "padding\n")


def test_yaml_error_names_file_line_and_layer(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: 8x8x3\nlayers:\n  - conv: {name: c, filters: 4, kernal: 3}\n")
    result = run("analyze", str(bad))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {bad}:3: unknown key 'kernal' in a 'conv' layer; did you "
                             "mean 'kernel'? Allowed: name, from, filters, kernel, stride, "
                             "padding, dilation, groups, bias, scale\n")


def test_every_command_has_help() -> None:
    for name, command in main.commands.items():
        assert command.help, name
        result = run(name, "--help")
        assert result.exit_code == 0 and "Usage:" in result.stdout, name


def test_list_shows_builtins() -> None:
    result = run("list")
    assert result.exit_code == 0
    assert "resnet50" in result.stdout and "25.6M" in result.stdout


def imported_after(args: list[str]) -> set[str]:
    """The modules a fresh process has imported after running convcalc with ``args``."""
    code = ("import sys; from convcalc.cli import main\n"
            f"try:\n    main({args!r})\n"
            "except SystemExit:\n    pass\n"
            "print(' '.join(sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return set(done.stderr.split())


def test_analyze_json_imports_neither_numpy_nor_rich() -> None:
    modules = imported_after(["analyze", "resnet50", "--format", "json"])
    assert "numpy" not in modules and "rich" not in modules
    assert "convcalc.formats.loader" in modules  # the probe did run the command
    # JSON is written by report_json alone: the terminal table's modules cost start-up time.
    assert "convcalc.present.report_json" in modules and "convcalc.present.grid" not in modules
    # Each command's module is imported when it runs: analyze loads no other command.
    assert {m for m in modules if m.startswith("convcalc.cli.")} == {"convcalc.cli.analyze",
                                                                      "convcalc.cli.base"}


def test_analyze_table_imports_neither_numpy_nor_rich() -> None:
    # The table is drawn as plain text (grid.Grid): rich is left for conv's grids and
    # verify's progress bar.
    modules = imported_after(["analyze", "resnet50"])
    assert "numpy" not in modules and "rich" not in modules
    assert "convcalc.present.grid" in modules


LAZY_FAMILIES = {f"convcalc.graph.layers.{family}"
                 for family in ("attention", "tokens", "reshaping")}


def test_a_cnn_never_loads_the_token_attention_and_reshaping_kinds() -> None:
    # Start-up: LAYER_KINDS imports a family's module on the first lookup of one of its kinds.
    cnn = imported_after(["analyze", "resnet50", "--format", "json"])
    assert "convcalc.graph.layers.convolution" in cnn and not cnn & LAZY_FAMILIES
    transformer = imported_after(["analyze", "vit_b_16", "--format", "json"])
    assert {"convcalc.graph.layers.attention", "convcalc.graph.layers.tokens"} <= transformer


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "convcalc", "analyze", "resnet50", "--format",
                           "json"], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["totals"]["params"] == 25_557_032
