"""Hostile input, round 3 (issue 24), generated code: text from an input (a network's name, a
file's name, layer paths) reaches an exported PyTorch module only as an escaped literal, so
importing the module runs nothing; very wide merges and very deep paths still compile and run;
pool padding PyTorch refuses is refused when exporting, with its location."""

import ast
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import parse
from convcalc.formats.torch_writer import write_torch

# Pieces that end a docstring or a literal, start an escape or a comment, or break a line.
PIECES = ['"""', "'''", '"', "'", "\\", "\\N", "\\N{", "\\u", "{", "}", "{name}", "#", "\n",
          "\t", "import os", "os.system('x')", ";", "é", "\u2028", " "]


def network(name: str) -> str:
    """A small network named ``name`` (written as a JSON string, which YAML reads too)."""
    return (f"name: {json.dumps(name)}\ninput: 8x8x3\nlayers:\n"
            "  - conv: {name: c, filters: 4, kernel: 3}\n  - relu: {}\n")


def docstrings(source: str) -> list[str | None]:
    tree = ast.parse(source)
    return [ast.get_docstring(n) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)]


PLAIN = docstrings(write_torch(parse(network("plain"), file="net.yaml")))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join))
def test_hostile_names_are_literals_in_the_code(name: str) -> None:
    if not name.strip():
        return  # a blank name is the file's stem
    source = write_torch(parse(network(name), file="net.yaml"))
    compile(source, "model.py", "exec")  # a SyntaxError (\N, an unclosed literal) fails here
    tree = ast.parse(source)
    assigned = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    assert ast.literal_eval(assigned["NAME"]) == name
    # The only top-level statements are the docstring, imports, definitions and constants:
    # nothing a name could have added runs at import.
    kinds = {type(n).__name__ for n in tree.body}
    assert kinds <= {"Expr", "Import", "ImportFrom", "FunctionDef", "ClassDef", "Assign"}
    assert docstrings(source) == PLAIN  # no docstring holds the name


PAYLOAD = "open(__import__('os').environ['MARKER'], 'w').close()"
NAMES = [f'x"""\n{PAYLOAD}\n"""', f"x'''\n{PAYLOAD}\n'''", f'\\N"""; {PAYLOAD}; """',
         f"{{name}}\n{PAYLOAD}\n#"]


def test_importing_an_exported_module_runs_nothing(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    del torch
    marker = tmp_path / "marker"
    for i, name in enumerate(NAMES):
        (tmp_path / f"n{i}.yaml").write_text(network(name))
        out = tmp_path / f"m{i}.py"
        result = CliRunner().invoke(main, ["export", str(tmp_path / f"n{i}.yaml"), "--to",
                                           "pytorch", "-o", str(out)])
        assert result.exit_code == 0, result.output
        check = ("import importlib.util, sys\n"
                 f"spec = importlib.util.spec_from_file_location('m', {str(out)!r})\n"
                 "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
                 "print(repr(m.NAME)); print(sum(p.numel() for p in m.build().parameters()))")
        done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                              timeout=120, check=False,
                              env={**os.environ, "MARKER": str(marker)})
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [repr(name), str(3 * 3 * 3 * 4 + 4)]
        assert not marker.exists(), name


def test_a_hostile_file_name_is_a_literal(tmp_path: Path) -> None:
    # A file without `name:` is named by its stem.
    stem = 'a""" + __import__("os").getcwd() + """'
    arch = parse("input: 8x8x3\nlayers:\n  - relu: {}\n", file=str(tmp_path / f"{stem}.yaml"))
    source = write_torch(arch)
    compile(source, "model.py", "exec")
    assert f"NAME = {stem!r}" in source


def merge_network(kind: str, inputs: int) -> str:
    sources = ", ".join(["c"] * inputs)
    return (f"name: wide\ninput: 4x4x2\nlayers:\n  - conv: {{name: c, filters: 2, kernel: 1}}\n"
            f"  - {kind}: {{name: m, from: [{sources}]}}\n")


@pytest.mark.parametrize("kind", ["add", "mul"])
def test_a_merge_of_3000_inputs_compiles_and_runs(kind: str) -> None:
    source = write_torch(parse(merge_network(kind, 3000), file="wide.yaml"))
    code = compile(source, "model.py", "exec")  # a chain of 3,000 operators: RecursionError
    torch = pytest.importorskip("torch")
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    model = namespace["build"]()
    conv = model.get_submodule("c")
    with torch.no_grad():
        torch.nn.init.constant_(conv.weight, 0.5)
        torch.nn.init.zeros_(conv.bias)
        x = torch.full((1, 2, 4, 4), 1.0)
        out = model(x)
    # each conv output is 0.5 + 0.5 = 1.0: 3,000 of them add to 3,000 and multiply to 1
    assert out.shape == (1, 2, 4, 4)
    assert float(out[0, 0, 0, 0]) == (3000.0 if kind == "add" else 1.0)


def test_few_merge_inputs_stay_an_expression() -> None:
    source = write_torch(parse(merge_network("add", 3), file="add.yaml"))
    assert "= t0 + t0 + t0" in source and "_product" not in source


def test_a_path_of_3000_scopes_keeps_parameters_working() -> None:
    torch = pytest.importorskip("torch")
    # such paths come from ONNX node names ('/s0/s1/.../Conv'); YAML names are words
    scopes = ".".join(f"s{i}" for i in range(3000))
    arch = parse("name: deep\ninput: 4x4x2\nlayers:\n  - conv: {name: c, filters: 3, kernel: 1}\n",
                 file="deep.yaml")
    arch = replace(arch, nodes=(replace(arch.nodes[0], path=scopes),), outputs=(scopes,))
    namespace: dict[str, Any] = {}
    exec(compile(write_torch(arch), "model.py", "exec"), namespace)
    model = namespace["build"]()
    # torch walks modules recursively: 3,000 levels were a RecursionError
    assert sum(p.numel() for p in model.parameters()) == 2 * 3 + 3
    assert model(torch.zeros(1, 2, 4, 4)).shape == (1, 3, 4, 4)


@pytest.mark.parametrize(("pool", "message"), [
    ("maxpool: {name: p, kernel: 2, padding: 2}",
     r"^pad\.yaml:5: layer 'p' \(maxpool\): padding 2 is more than half the 2x2 window"),
    ("avgpool: {name: p, kernel: 3, padding: 2}",
     r"^pad\.yaml:5: layer 'p' \(avgpool\): padding 2 is more than half the 3x3 window"),
])
def test_pool_padding_torch_refuses_is_refused_at_export(pool: str, message: str) -> None:
    arch = parse("name: pad\ninput: 8x8x3\nlayers:\n  - conv: {name: c, filters: 4, kernel: 1}\n"
                 f"  - {pool}\n", file="pad.yaml")
    with pytest.raises(ConvcalcError, match=message):
        write_torch(arch)


def test_pool_padding_of_half_the_kernel_exports_and_torch_takes_it() -> None:
    torch = pytest.importorskip("torch")
    arch = parse("name: pad\ninput: 8x8x3\nlayers:\n  - maxpool: {name: p, kernel: 3, "
                 "padding: 1}\n  - avgpool: {name: q, kernel: 2, padding: 1}\n", file="ok.yaml")
    namespace: dict[str, Any] = {}
    exec(compile(write_torch(arch), "model.py", "exec"), namespace)
    # the stride is the kernel (PyTorch's default): 8 -> (8 + 2 - 3) // 3 + 1 = 3
    # -> (3 + 2 - 2) // 2 + 1 = 2
    assert namespace["build"]()(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 2, 2)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_a_number_that_is_no_python_literal_is_refused(value: str) -> None:
    # str(float("inf")) is 'inf', a name in the written module, not a number.
    text = f"name: n\ninput: 8x8x3\nlayers:\n  - lrn: {{name: l, alpha: {value}}}\n"
    with pytest.raises(ConvcalcError, match=r"^lrn\.yaml:4: layer 'l' \(lrn\): alpha -?(inf|nan) "
                                            r"must be a finite number$"):
        write_torch(parse(text, file="lrn.yaml"))
