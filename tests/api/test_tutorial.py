"""docs/tutorial.md: every pasted output is what the tool prints today."""

import doctest
import re
import shlex
from pathlib import Path

import pytest

from tensordiff.cli import main

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
BLOCK = re.compile(r"<!-- output of: (.+?) -->\n```text\n\$ \1\n(.*?)```", re.S)


def pasted_outputs():
    return BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))


def test_the_tutorial_pastes_some_output():
    assert len(pasted_outputs()) >= 3


@pytest.mark.parametrize("command, pasted", pasted_outputs(), ids=lambda value: value[:40])
def test_pasted_output_matches_the_tool(command, pasted, capsys):
    argv = shlex.split(command)
    assert argv[0] == "tensordiff"
    assert main(argv[1:]) == 0
    assert capsys.readouterr().out == pasted


def test_python_examples_run():
    result = doctest.testfile(str(TUTORIAL), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
