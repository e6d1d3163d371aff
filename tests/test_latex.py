"""LaTeX tables: compiled by a real LaTeX where pdflatex is installed (an error or an Overfull
\\hbox wider than a point fails, on A4 and on US letter), and their layout rules checked by hand
without it: titles wrapped, layer paths broken only before a word, every row as wide as the
column specification, the widest cells measured."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA

from convcalc.cli import main
from convcalc.present.latex import PREAMBLE, tex_table

PDFLATEX = shutil.which("pdflatex")
needs_latex = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")

# What the compiled document shows: reports of a CNN with long layer paths, a scaled
# EfficientNet, a transformer, several networks (the comparison of many figures), a network
# on a device (time and bound columns), blocks, a hostile file; compare's tables of networks
# and of one layer's designs.
COMMANDS = [
    ["report", "resnet50", "--format", "tex"],
    ["report", "efficientnet_b0", "--format", "tex"],
    ["report", "vit_b_16", "--format", "tex"],
    ["report", "resnet50", "mobilenet_v1", "efficientnet_b0", "--top", "0", "--no-by-type",
     "--columns", "name,kind", "--format", "tex"],
    ["report", "mobilenet_v2", "--device", "raspberry_pi4", "--format", "tex"],
    ["report", "inception_v3", "--depth", "2", "--format", "tex"],
    ["report", str(DATA / "hostile.yaml"), "--format", "tex"],
    ["compare", "mobilenet_v2", "mobilenet_v2@width=0.5,input=160", "resnet50", "vit_b_16",
     "--format", "tex"],
    ["compare", "mobilenet_v1", "resnet50", "--device", "raspberry_pi4", "--convert",
     "standard", "--format", "tex"],
    ["compare", "--input", "28x28x192", "--kernel", "5", "--filters", "32", "--bottleneck",
     "16", "--expansion", "6", "--format", "tex"],
]


def convcalc(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def compile_document(folder: Path, body: str, paper: str) -> str:
    """The log of an article on ``paper`` that \\inputs ``body``, run until longtable's
    column widths have settled."""
    (folder / "body.tex").write_text(body, encoding="utf-8")
    (folder / "doc.tex").write_text(
        f"\\documentclass[{paper}]{{article}}\n{PREAMBLE}\n"
        # the PDF's page the size of the paper (pdfTeX's own default is one of the two)
        "\\pdfpagewidth=\\paperwidth \\pdfpageheight=\\paperheight\n\\begin{document}\n"
        "\\input{body}\n\\end{document}\n", encoding="utf-8")
    for _ in range(4):
        run = subprocess.run([str(PDFLATEX), "-interaction=nonstopmode", "-halt-on-error",
                              "-no-shell-escape", "doc.tex"], cwd=folder, capture_output=True,
                             text=True, errors="replace", timeout=600, check=False)
        log = (folder / "doc.log").read_text(encoding="utf-8", errors="replace")
        assert run.returncode == 0, log[-3000:]
        if "Rerun LaTeX" not in log:
            return log
    raise AssertionError("longtable's widths did not settle in 4 runs")


@pytest.fixture(scope="module")
def body() -> str:
    return "\n\\clearpage\n".join(convcalc(*command) for command in COMMANDS)


@needs_latex
@pytest.mark.parametrize("paper", ["a4paper", "letterpaper"])
def test_every_table_compiles_and_fits_the_text_width(tmp_path: Path, body: str,
                                                       paper: str) -> None:
    log = compile_document(tmp_path, body, paper)
    assert "! " not in log
    too_wide = [(float(points), where) for points, where in re.findall(
        r"Overfull \\hbox \(([\d.]+)pt too wide\) (.*)", log)]
    assert all(points <= 1.0 for points, _ in too_wide), too_wide


@needs_latex
def test_a_table_with_more_columns_than_fit_says_so(tmp_path: Path) -> None:
    # Every per-layer column of ResNet-50 (15 with a device) cannot fit a page: LaTeX says
    # so (the check above would catch a default that did the same).
    body = convcalc("report", "resnet50", "--top", "0", "--no-by-type", "--columns",
                    "name,kind,input,output,window,params,macs,macs_share,activations,"
                    "activation_bytes,receptive_field,bytes_moved,intensity", "--format", "tex")
    log = compile_document(tmp_path, body, "a4paper")
    assert "Overfull \\hbox" in log


# -- the layout, by hand ---------------------------------------------------------------------------

def rows_of(lines: list[str]) -> list[str]:
    body = "\n".join(lines).split(r"\endfoot")[1].split(r"\end{longtable}")[0]
    return [line for line in body.splitlines() if line.endswith(r"\\")]


def test_names_break_before_words_only() -> None:
    lines = tex_table("t", ["Layer", "MACs"], [["layer1.0.downsample.0", "1"],
                                               ["encoder.layer_11.mlp", "2"],
                                               ["stage1.dw_bn", "3"]], [False, True])
    # a '_' is a worse place to break than a '.': a penalty of 100 (TeX's scale to 10,000)
    assert rows_of(lines) == [r"layer1.0.\allowbreak{}downsample.0 & 1 \\",
                              r"encoder.\allowbreak{}layer\_11.\allowbreak{}mlp & 2 \\",
                              r"stage1.\allowbreak{}dw\_\penalty100{}bn & 3 \\"]


def test_long_titles_wrap_to_their_column_and_sit_on_the_bottom_line() -> None:
    lines = tex_table("t", ["Layer", "% of MACs", "Kernel/stride"],
                      [["a", "12.50%", "3x3/1"]], [False, True, False])
    header = lines[lines.index(r"\toprule") + 1]
    assert header == (r"Layer & \begin{tabular}[b]{@{}r@{}}\% of\\MACs\end{tabular} & "
                      r"\begin{tabular}[b]{@{}l@{}}Kernel/\\stride\end{tabular} \\")


def test_the_first_text_column_takes_what_the_widest_cells_leave() -> None:
    rows = [["a", str(10 ** k)] for k in range(8)]
    lines = tex_table("t", ["Layer", "MACs"], rows, [False, True])
    measure = next(line for line in "\n".join(lines).splitlines()
                   if line.startswith(r"\def\convcalcmeasure"))
    # the title and the three widest numbers, one row each, in a tabular of their own
    assert measure == (r"\def\convcalcmeasure{\begin{tabular}{r@{}}MACs\\10000000\\1000000\\"
                       r"100000\end{tabular}}%")
    assert r"p{\convcalcname}r@{}}" in "\n".join(lines)
    assert len(rows_of(lines)) == 8


def test_stacked_cells_and_numbers_only() -> None:
    lines = tex_table("t", ["MACs", "Params"], [[("10", "×0.50"), "3"]], [True, True])
    assert r"\convcalcname" not in "\n".join(lines)  # no text column: natural widths
    assert rows_of(lines) == [r"\begin{tabular}[t]{@{}r@{}}10\\$\times$0.50\end{tabular} & 3 \\"]
