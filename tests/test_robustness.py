"""Malformed and hostile input: every failure is one ConvcalcError (exit status 2 on the command
line), never another exception, a hang, or a partial output."""

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.analysis.report import analyze
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import builtin_names, locate, parse

JUNK = [None, -1, 0, 10**12, 2.5, True, "abc", "x" * 300, [], {}, [1, 2, 3], {"k": 1},
        "same", "mid * 0", "1 / 0", "__import__('os')"]


def _containers(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (sequence of keys/indexes) to a mapping or list inside value."""
    found = [trail] if isinstance(value, dict | list) else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list) else ()
    for key, child in items:
        found += _containers(child, (*trail, key))
    return found


def _at(value: Any, trail: tuple[Any, ...]) -> Any:
    for key in trail:
        value = value[key]
    return value


@st.composite
def mutated(draw: st.DrawFn, doc: Any) -> str:
    """The document with a few random edits: a key deleted, a value replaced by junk, an
    unknown key added, or a list item duplicated."""
    for _ in range(draw(st.integers(1, 3))):
        target = _at(doc, draw(st.sampled_from(_containers(doc))))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["delete", "replace", "add", "duplicate"]))
        if action == "add" and isinstance(target, dict):
            target[draw(st.sampled_from(["kernal", "repeat", "first", "conv", "zzz"]))] = (
                copy.deepcopy(draw(st.sampled_from(JUNK))))
        elif not keys:
            continue
        elif action == "delete":
            del target[draw(st.sampled_from(keys))]
        elif action == "duplicate" and isinstance(target, list):
            target.append(copy.deepcopy(target[draw(st.sampled_from(keys))]))
        else:
            target[draw(st.sampled_from(keys))] = copy.deepcopy(draw(st.sampled_from(JUNK)))
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.mark.parametrize("name", builtin_names())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_zoo_files_fail_cleanly(name: str, data: st.DataObject) -> None:
    doc = yaml.safe_load(locate(name).read_text())
    text = data.draw(mutated(doc))
    try:
        analyze(parse(text, file=f"{name}.yaml"))
    except ConvcalcError as e:
        message = str(e)
        assert message.startswith(f"{name}.yaml"), message
        assert "\n" not in message


PEAK_KIB = """
def peak_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""


def _run_cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run convcalc in a fresh process; return it and its peak memory in MiB."""
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a large parent (say, one that has
    # imported torch) would be measured instead of the child.
    code = ("import sys\nfrom convcalc.cli import main\n"
            "try:\n    main(sys.argv[1:])\nfinally:\n"
            "    print(peak_kib(), file=sys.stderr)")
    package_root = str(Path(convcalc.__file__).resolve().parent.parent)  # the one under test
    done = subprocess.run([sys.executable, "-c", PEAK_KIB + code, *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd, check=False,
                          env={**os.environ, "PYTHONPATH": package_root})
    *lines, peak = done.stderr.splitlines()
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout,
                                       "\n".join(lines)), int(peak) // 1024


def _alias_bomb() -> str:
    lines = ["a0: &a0 [relu, relu, relu, relu, relu, relu, relu, relu, relu, relu]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\ninput: 8x8x3\nlayers: *a8\n"


HOSTILE = {
    "empty.yaml": ("", "empty.yaml: is empty"),
    "garbage.yaml": (os.urandom(4096).decode("latin-1"), "garbage.yaml"),
    # Line 6 holds a5, the first alias to cross the limit (a_k holds 11 x 10^k values).
    "bomb.yaml": (_alias_bomb(), "bomb.yaml:6: has more than 200,000 YAML values"),
    "deep.yaml": ("[" * 200_000 + "]" * 200_000, "deep.yaml:1: "),
    "list.yaml": ("- 1\n- 2\n", "list.yaml:1: must be a mapping"),
    "python.yaml": ("!!python/object/apply:os.system ['echo pwned']\n",
                    "python.yaml:1: YAML tag"),
    "huge-repeat.yaml": ("input: 8x8x3\nlayers:\n  - repeat: 10000\n    group:\n      layers:\n"
                         + "".join("        - relu\n" for _ in range(100)),
                         "huge-repeat.yaml:6: has more than 50,000 layers"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_end_in_one_line_exit_2(name: str, tmp_path: Path) -> None:
    text, expected = HOSTILE[name]
    (tmp_path / name).write_text(text, encoding="utf-8", errors="surrogateescape")
    done, peak_mib = _run_cli("analyze", name, "--format", "json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(f"Error: {expected}"), done.stderr
    if name == "deep.yaml":  # PyYAML 6.0.4+ refuses it itself, older ones reach our check
        assert "nested deeper than 64" in done.stderr or "maximum nesting" in done.stderr
    assert done.stderr.count("\n") == 0  # one line (the trailing newline was split off)
    assert peak_mib < 300


def test_oversized_missing_and_directory_inputs(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(100 * 1024 * 1024)  # a sparse 100 MB file
    cases = {
        "big.yaml": "Error: big.yaml: is 104,857,600 bytes; architecture files are limited to",
        "missing.yaml": "Error: missing.yaml: cannot read: No such file or directory",
        "sub": "Error: no file and no built-in architecture named 'sub'",
    }
    for arg, expected in cases.items():
        done, peak_mib = _run_cli("analyze", arg, cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.startswith(expected), done.stderr
        assert peak_mib < 300
    (tmp_path / "dir.yaml").mkdir()
    done, _ = _run_cli("analyze", "dir.yaml", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("Error: dir.yaml: is a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked.yaml"
    locked.write_text("input: 8x8x3\nlayers: [relu]\n")
    locked.chmod(0)
    done, _ = _run_cli("analyze", "locked.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: locked.yaml: cannot read: Permission denied")


def test_read_errors_become_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from convcalc.cli import main

    net = tmp_path / "net.yaml"
    net.write_text("input: 8x8x3\nlayers: [relu]\n")

    real_open = os.open

    def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path) == str(net):  # as if unreadable, which root cannot make a file
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    result = CliRunner().invoke(main, ["analyze", str(net)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {net}: cannot read: Permission denied\n"


def test_reading_never_writes(tmp_path: Path) -> None:
    net = tmp_path / "net.yaml"
    net.write_text("input: 8x8x3\nlayers: [relu]\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    done, _ = _run_cli("analyze", "net.yaml", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_peak_memory_helper_measures_something() -> None:
    # A Python process cannot be smaller than a few MiB, nor larger than this one after it has
    # allocated 64 MiB more: a reading outside that would mean the measurement broke.
    namespace: dict[str, Any] = {}
    exec(PEAK_KIB, namespace)
    ballast = b"x" * (64 * 1024 * 1024)  # written, so its pages count
    assert namespace["peak_kib"]() > len(ballast) // 1024 > 4 * 1024
