"""Shell completion: ARCH and --device complete built-in names and the current folder's files,
and leave bash's own file-name completion on (a 'file' item)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import BashComplete

from convcalc.cli import main


def completions(args: list[str], incomplete: str) -> list[tuple[str, str]]:
    shell = BashComplete(main, {}, "convcalc", "_CONVCALC_COMPLETE")
    return [(c.type, c.value) for c in shell.get_completions(args, incomplete)]


def test_arch_completes_names_and_keeps_files(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mobilenet_mine.yaml").write_text("input: 8x8x3\nlayers: []\n")
    got = completions(["analyze"], "mobilenet_v")
    assert got[0] == ("file", "mobilenet_v")
    # torchvision's four MobileNets ship as built-ins
    assert ("plain", "mobilenet_v2") in got and ("plain", "mobilenet_v3_small") in got
    assert all(value.startswith("mobilenet_v") for _, value in got)
    assert ("plain", "mobilenet_mine.yaml") in completions(["analyze"], "mobilenet_")
    # a named scale of a file with scales: (efficientnet_b0 ... b7) completes as well
    assert ("plain", "efficientnet_b3") in completions(["compare", "resnet18"], "efficientnet_b")
    # a path is left to the shell's own file completion
    assert completions(["report", "resnet18"], "./") == [("file", "./")]


def test_device_completes_profile_names() -> None:
    got = completions(["analyze", "resnet50", "--device"], "rasp")
    assert got == [("file", "rasp"), ("plain", "raspberry_pi4")]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_documented_bash_completion(tmp_path: Path) -> None:
    shim = tmp_path / "convcalc"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'from convcalc.cli import main; "
                    "main(prog_name=\"convcalc\")' \"$@\"\n")
    shim.chmod(0o755)
    (tmp_path / "my_net.yaml").write_text("input: 8x8x3\nlayers: []\n")
    script = ('eval "$(_CONVCALC_COMPLETE=bash_source convcalc)"\n'
              "COMP_WORDS=(convcalc analyze my_); COMP_CWORD=2\n"
              "_convcalc_completion convcalc 2>/dev/null\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n'
              "COMP_WORDS=(convcalc analyze x --device raspb); COMP_CWORD=4\n"
              '_convcalc_completion convcalc 2>/dev/null; printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.split() == ["my_net.yaml", "raspberry_pi4"]
