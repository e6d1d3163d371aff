"""Every command takes every way of naming a network: a built-in name, a named scale
('efficientnet_b3', 'file.yaml:b3'), a path, each with per-network '@' settings
('mobilenet_v2@width=0.5,input=160'), with and without -o; and a network scaled or converted by
options is named after what was done. Expected numbers are torchvision's (tests/data) or hand
arithmetic written here."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import DATA

from convcalc.cli import main
from convcalc.formats.loader import builtin_dirs

EXTRA = json.loads((DATA / "torchvision_extra_counts.json").read_text())["models"]
WIDTH = json.loads((DATA / "torchvision_width_counts.json").read_text())["models"]
B3 = (EXTRA["efficientnet_b3"]["params"], EXTRA["efficientnet_b3"]["macs"])


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def effnet_file(folder: Path) -> Path:
    """A copy of the built-in efficientnet.yaml (the file of the b0..b7 scales)."""
    source = next(d / "efficientnet.yaml" for d in builtin_dirs() if (d / "efficientnet.yaml")
                  .is_file())
    return Path(shutil.copy(source, folder / "effnet.yaml"))


@pytest.mark.parametrize("suffix", [".md", ".html", ".json", ".csv", ".tex"])
def test_report_of_a_named_scale_writes_its_file(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"b3{suffix}"
    result = run("report", "efficientnet_b3", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "efficientnet" in out.read_text()


def test_report_json_of_a_named_scale_has_torchvisions_numbers(tmp_path: Path) -> None:
    out = tmp_path / "b3.json"
    assert run("report", "efficientnet_b3", "-o", str(out)).exit_code == 0
    row = json.loads(out.read_text())["comparison"][0]
    assert (row["name"], row["params"], row["macs"]) == ("efficientnet_b3", *B3)


def test_report_comparing_a_name_and_a_scale_writes_html(tmp_path: Path) -> None:
    out = tmp_path / "cmp.html"
    result = run("report", "mobilenet_v2", "efficientnet_b0", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "mobilenet_v2" in text and "efficientnet_b0" in text


@pytest.mark.parametrize("to", ["yaml", "pytorch"])
def test_export_of_a_named_scale_writes_its_file(tmp_path: Path, to: str) -> None:
    out = tmp_path / "x.out"
    result = run("export", "efficientnet_b3", "--to", to, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000


def test_an_exported_named_scale_analyzes_to_torchvisions_numbers(tmp_path: Path) -> None:
    out = tmp_path / "b3.yaml"
    assert run("export", "efficientnet_b3", "--to", "yaml", "-o", str(out)).exit_code == 0
    assert out.read_text().startswith("name: efficientnet_b3\n")
    totals = json.loads(run("analyze", str(out), "--format", "json").stdout)["totals"]
    assert (totals["params"], totals["macs"]) == B3


@pytest.mark.parametrize("command", [
    ["analyze", "{}", "--format", "json"],
    ["compare", "{}", "--format", "json"],
    ["sweep", "{}", "--format", "json", "--chart", "{out}.svg"],
    ["report", "{}", "-o", "{out}.json"],
    ["export", "{}", "--to", "yaml", "-o", "{out}.yaml"],
], ids=["analyze", "compare", "sweep", "report", "export"])
@pytest.mark.parametrize("arch", ["efficientnet_b3", "FILE:b3"], ids=["name", "file-scale"])
def test_every_command_takes_a_named_scale(tmp_path: Path, command: list[str],
                                           arch: str) -> None:
    arch = arch.replace("FILE", str(effnet_file(tmp_path)))
    out = str(tmp_path / "out")
    result = run(*(a.format(arch, out=out) for a in command))
    assert result.exit_code == 0, result.output
    assert not result.stderr


def test_an_output_never_overwrites_the_file_of_a_scale_it_read(tmp_path: Path) -> None:
    source = effnet_file(tmp_path)
    before = source.read_text()
    for arch in (f"{source}:b3", f"{source}:b3@width=0.5"):
        result = run("export", arch, "--to", "yaml", "-o", str(source))
        assert result.exit_code == 2
        assert result.stderr.startswith(f"Error: cannot write '{source}': it is the input")
    assert source.read_text() == before


def test_compare_takes_per_network_settings() -> None:
    result = run("compare", "mobilenet_v2", "mobilenet_v2@width=0.5",
                 "mobilenet_v2@width=0.5,input=160", "--format", "json")
    assert result.exit_code == 0, result.output
    networks = json.loads(result.stdout)["networks"]
    assert [n["name"] for n in networks] == ["mobilenet_v2", "mobilenet_v2 ×0.5",
                                             "mobilenet_v2 ×0.5 @160"]
    half = WIDTH["mobilenet_v2"]["0.5"]
    assert (networks[1]["params"], networks[1]["macs"]) == (half["params"], half["macs"])
    # The resolution multiplier: every layer's output area times (160/224)^2, the params kept.
    assert networks[2]["params"] == half["params"]
    assert networks[2]["input"] == [160, 160, 3]


def test_a_network_setting_overrides_the_option() -> None:
    result = run("compare", "mobilenet_v3_large", "mobilenet_v3_large@width=1", "--width",
                 "0.75", "--format", "json")
    networks = json.loads(result.stdout)["networks"]
    expected = WIDTH["mobilenet_v3_large"]["0.75"]
    assert (networks[0]["params"], networks[0]["macs"]) == (expected["params"],
                                                            expected["macs"])
    assert networks[1]["name"] == "mobilenet_v3_large ×1"


@pytest.mark.parametrize(("arch", "message"), [
    ("mobilenet_v2@widht=0.5", "Error: 'mobilenet_v2@widht=0.5': unknown setting 'widht'; did "
     "you mean 'width'? a network takes width=, input=, depth-multiplier=\n"),
    ("mobilenet_v2@width=", "Error: 'mobilenet_v2@width=': setting 'width' needs a value, e.g. "
     "width=0.5\n"),
    ("mobilenet_v2@width=1,width=2", "Error: 'mobilenet_v2@width=1,width=2': setting 'width' "
     "is given twice\n"),
    ("mobilenet_v2@width=x", "Error: width 'x' must be a number such as 0.75\n"),
])
def test_bad_settings_are_one_line(arch: str, message: str) -> None:
    result = run("analyze", arch)
    assert result.exit_code == 2
    assert result.stderr == message


def test_export_names_the_variant_it_writes(tmp_path: Path) -> None:
    out = tmp_path / "half.yaml"
    result = run("export", "mobilenet_v2", "--width", "0.5", "--to", "yaml", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("name: mobilenet_v2 ×0.5\n")
    report = json.loads(run("analyze", str(out), "--format", "json").stdout)
    assert report["name"] == "mobilenet_v2 ×0.5"
    half = WIDTH["mobilenet_v2"]["0.5"]
    assert (report["totals"]["params"], report["totals"]["macs"]) == (half["params"],
                                                                      half["macs"])


def test_compare_table_rows_are_named_after_what_was_done() -> None:
    result = run("compare", "mobilenet_v2", "mobilenet_v2@input=160", "--convert", "separable")
    assert result.exit_code == 0, result.output
    names = [line.split("  ")[0] for line in result.stdout.splitlines()]
    assert "mobilenet_v2 @160" in names
    assert "mobilenet_v2 @160 (separable)" in names


def test_depth_multiplier_is_in_the_name() -> None:
    result = run("analyze", "efficientnet_b0", "--depth-multiplier", "1.2", "--format", "json")
    assert json.loads(result.stdout)["name"] == "efficientnet_b0 depth×1.2"


def test_verify_takes_a_named_scale_with_settings() -> None:
    result = run("verify", "efficientnet_b3@input=32")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("layers match")


def test_sweep_refuses_the_settings_it_varies() -> None:
    result = run("sweep", "mobilenet_v2@width=0.5,input=160", "--width", "1,0.5")
    assert result.exit_code == 2
    assert result.stderr == ("Error: 'mobilenet_v2@width=0.5,input=160': sweep varies width "
                             "and input itself; give the values with --width, --input\n")
    result = run("sweep", "efficientnet_b0@depth-multiplier=1.2", "--width", "1,0.5",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "efficientnet_b0 depth×1.2"
