"""The package's floors: records show themselves through the registry that the presentation floor
fills, without importing it; every module stays readable in size."""

import pathlib
import subprocess
import sys

import convcalc
from convcalc import display
from convcalc.analysis.report import Report

PACKAGE = pathlib.Path(convcalc.__file__).parent


def test_a_report_prints_its_table_through_the_registry() -> None:
    report = convcalc.analyze(convcalc.parse(
        "input: 8x8x1\nlayers:\n  - conv: {filters: 2, kernel: 3}\n"))
    # 6x6x2 outputs of 3x3x1 windows: 2 * 36 * 9 = 648 multiplies, 2 * 9 + 2 = 20 params.
    text = str(report)
    assert "648" in text and "20" in text
    assert "<table" in report._repr_html_()
    assert "| conv" in report._repr_markdown_() or "conv" in report._repr_markdown_()


def test_a_record_with_no_renderer_says_so() -> None:
    class Bare(display.Shown):
        pass

    try:
        str(Bare())
    except TypeError as e:
        assert "no text renderer is registered for Bare" in str(e)
    else:
        raise AssertionError("a record without a renderer printed something")


def test_records_never_import_the_presentation_floor() -> None:
    # A fresh interpreter that imports only the analysis floor's module (the package __init__
    # runs first and registers the renderers, which are imported only when a record is shown).
    code = ("import sys, convcalc.analysis.report\n"
            "print(sorted(m for m in sys.modules if m.startswith('convcalc.present.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "['convcalc.present.reprs']"
    assert Report.__str__ is display.Shown.__str__


def test_no_module_is_over_700_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert len(sizes) > 40
    assert {name for name, n in sizes.items() if n > 700} == set()
