"""The command line: `tensordiff demo` answers the motivating question, with its checks."""

import subprocess
import sys

import pytest

from tensordiff.cli import main


def test_demo_prints_the_entities_formulas_and_chain(capsys):
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    assert "order-3 tensor, shape (3, 3, 4), labels V[i] / W[j,k]" in text
    assert "∂V[i]/∂W[j,k] = δ[i,j] x[k]" in text
    assert "∂E/∂V[i] = 2 (V − y)[i]" in text
    assert "= 2 (V − y)[j] x[k]" in text
    assert "shape (3, 4), labels E / W[j,k]" in text
    assert "contraction over V's label i" in text


@pytest.mark.parametrize("seed, m, n", [(1, 2, 5), (7, 5, 2)])
def test_demo_other_sizes_pass_their_own_checks(capsys, seed, m, n):
    assert main(["demo", "--seed", str(seed), "--m", str(m), "--n", str(n)]) == 0
    text = capsys.readouterr().out
    assert f"shape ({m}, {m}, {n})" in text and text.count("check:") == 5


def test_demo_refuses_unreadable_sizes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--m", "100"])
    assert exit_info.value.code == 2


def test_console_script_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "tensordiff", "demo"], capture_output=True, text=True, check=True
    )
    assert "δ[i,j] x[k]" in result.stdout


def test_the_readme_quotes_the_demo_as_it_prints(capsys):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    excerpt = readme.split("```\n1. ∂V/∂W", 1)[1].split("```", 1)[0]
    main(["demo"])
    printed = capsys.readouterr().out
    for line in ("1. ∂V/∂W" + excerpt).splitlines():
        if line.strip() and line != "...":
            assert line in printed, line
