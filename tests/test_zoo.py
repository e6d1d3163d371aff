"""The built-in architectures: their counts against torchvision, the papers and hand
arithmetic, and their per-layer shapes against PyTorch."""

import pytest

from convcalc import ConvcalcError, analyze, parse

# -- language the zoo needed ------------------------------------------------------------------

BRANCH_BLOCK = """
input: 28x28x192
blocks:
  inception:
    args: {c1: ~, c5: ~}
    branches:
      one: [{conv: {name: conv, filters: c1, kernel: 1}}]
      five: [{conv: {filters: c5, kernel: 5, padding: 2}}]
layers:
  - inception: {name: mixed, c1: 64, c5: 32}
"""


def test_a_block_of_branches_is_a_concat_named_by_its_call() -> None:
    report = analyze(parse(BRANCH_BLOCK))
    assert [(r.path, r.output.as_list()) for r in report.rows] == [
        ("mixed.one.conv", [28, 28, 64]),
        ("mixed.five.0", [28, 28, 32]),
        ("mixed.concat", [28, 28, 96]),
    ]
    # 28*28*64*192 + 28*28*32*(5*5*192)
    assert report.totals.macs == 9_633_792 + 120_422_400


@pytest.mark.parametrize(("extra", "message"), [
    ("    layers: [relu]\n", r"block 'inception' needs 'layers' or 'branches' \(not both\)"),
    ("    shortcut: auto\n", r"block 'inception' with 'branches' takes no 'shortcut'"),
], ids=["both", "shortcut"])
def test_a_block_of_branches_rejects_layers_and_shortcuts(extra: str, message: str) -> None:
    text = BRANCH_BLOCK.replace("    branches:\n", extra + "    branches:\n")
    with pytest.raises(ConvcalcError, match=rf"^bad\.yaml:4: {message}"):
        parse(text, file="bad.yaml")
