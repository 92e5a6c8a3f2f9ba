"""docs/tutorial.md and README.md: every pasted output is what the tool prints today.

``TENSORDIFF_UPDATE_DOCS=1 pytest tests/api/test_tutorial.py`` pastes the tool's
output in again where it has drifted (then read the diff before committing).
"""

import doctest
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

import tensordiff as td
from tensordiff.cli import main

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- output of: (.+?) -->\n```text\n\$ \1\n(.*?)```", re.S)
# README: a command, "...", then the part of its output from "Result:" to a blank line
README_EXCERPT = re.compile(r"```\n(tensordiff explain .+?)\n\.\.\.\n(Result:\n.*?)```", re.S)
# README: `>>> td.jacobian(...)(x).formula` followed by the printed string
README_FORMULA = re.compile(r"^>>> (td\.jacobian\(.+?\)\.formula)( +#.*)?\n('.*')$", re.M)
UPDATE = bool(os.environ.get("TENSORDIFF_UPDATE_DOCS"))


def pasted_outputs():
    return BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))


def _printed(command: str, capsys) -> str:
    argv = shlex.split(command)
    assert argv[0] == "tensordiff"
    assert main(argv[1:]) == 0
    return capsys.readouterr().out


def _repaste(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_tutorial_pastes_some_output():
    assert len(pasted_outputs()) >= 3


@pytest.mark.parametrize("command, pasted", pasted_outputs(), ids=lambda value: value[:40])
def test_pasted_output_matches_the_tool(command, pasted, capsys):
    printed = _printed(command, capsys)
    if UPDATE and printed != pasted:
        _repaste(TUTORIAL, f"$ {command}\n{pasted}```", f"$ {command}\n{printed}```")
        return
    assert printed == pasted


def test_the_readme_quotes_explain_as_it_prints(capsys):
    excerpts = README_EXCERPT.findall(README.read_text(encoding="utf-8"))
    assert excerpts
    for command, pasted in excerpts:
        printed = _printed(command, capsys)
        result = printed[printed.index("Result:\n") :].split("\n\n", 1)[0] + "\n"
        if UPDATE and result != pasted:
            _repaste(README, f"...\n{pasted}```", f"...\n{result}```")
            continue
        assert result == pasted


def test_the_readme_formulas_are_what_the_tool_prints():
    names = {"td": td, "np": np, "x": np.array([0.5, -1.0, 2.0]), "v": np.array([1.5, 2.0])}
    quoted = README_FORMULA.findall(README.read_text(encoding="utf-8"))
    assert len(quoted) >= 2
    for call, comment, pasted in quoted:
        printed = repr(eval(call, names))
        if UPDATE and printed != pasted:
            _repaste(README, f"{call}{comment}\n{pasted}", f"{call}{comment}\n{printed}")
            continue
        assert printed == pasted


class _Drift(doctest.DocTestRunner):
    """A doctest runner that records each example whose output drifted."""

    def __init__(self):
        super().__init__(optionflags=doctest.ELLIPSIS)
        self.drifted: list[tuple[doctest.Example, str]] = []

    def report_failure(self, out, test, example, got):
        self.drifted.append((example, got))


def test_python_examples_run():
    if UPDATE:
        text = TUTORIAL.read_text(encoding="utf-8")
        runner = _Drift()
        runner.run(doctest.DocTestParser().get_doctest(text, {}, "tutorial", str(TUTORIAL), 0))
        for example, got in runner.drifted:
            first, *rest = example.source.rstrip("\n").split("\n")
            prompt = ">>> " + first + "".join("\n... " + line for line in rest) + "\n"
            _repaste(TUTORIAL, prompt + example.want, prompt + got)
    result = doctest.testfile(str(TUTORIAL), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
