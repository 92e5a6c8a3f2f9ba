"""Factor-name templates with class placeholders: building, rewriting and rendering them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tensordiff.core import templates
from tensordiff.core.templates import (
    classes_in,
    grouped,
    leaf,
    product,
    render,
    substitute,
    sum_of,
)
from tensordiff.core.term import Term, contract_terms, fresh_class


def test_a_product_with_a_summed_class_renders_with_labels():
    template = product([leaf("W", [5, 9]), leaf("x", [9])], [9])
    assert render(template, {5: "i", 9: "a"}) == "Σ_a W[i,a] x[a]"


def test_leaves():
    assert render(leaf("x", [3]), {3: "i"}) == "x[i]"
    assert render(leaf("A", [3, 14]), {3: "i", 14: "jk"}) == "A[i,jk]"
    assert leaf("s", []) == "s"
    assert render(leaf("W x", [2]), {2: "i"}) == "(W x)[i]"  # a compound name is one factor


def test_products():
    assert product([]) == "1"
    assert product(["", ""]) == "1"
    assert product(["a", "", "b"]) == "a b"
    assert render(product([leaf("a", [1])], [1, 1]), {1: "i"}) == "Σ_i a[i]"  # listed once
    summed_twice = product([leaf("A", [1, 2]), leaf("B", [2, 3])], [2, 3])
    assert render(summed_twice, {1: "i", 2: "j", 3: "k"}) == "Σ_j,k A[i,j] B[j,k]"


def test_substitute_splits_a_class_into_pieces():
    template = product([leaf("W", [5, 9]), leaf("x", [9])], [9])
    split = substitute(template, {9: (20, 21)})
    assert render(split, {5: "i", 20: "a", 21: "b"}) == "Σ_a,b W[i,a,b] x[a,b]"
    assert classes_in(split) == [20, 21, 5]


def test_substitute_renames_all_classes_at_once():
    template = leaf("A", [1, 2])
    swapped = substitute(template, {1: (2,), 2: (1,)})  # not 1→2 then 2→1
    assert render(swapped, {1: "i", 2: "j"}) == "A[j,i]"


def test_substitute_leaves_unmapped_classes_and_text_alone():
    template = "tanh(" + leaf("x", [7]) + ") + 17 " + leaf("y", [8])
    assert substitute(template, {}) == template
    assert render(substitute(template, {8: (9,)}), {7: "i", 9: "j"}) == "tanh(x[i]) + 17 y[j]"


def test_classes_in_first_appearance_order():
    template = product([leaf("W", [5, 9]), leaf("x", [9]), leaf("b", [123])], [9])
    assert classes_in(template) == [123, 9, 5]  # b, not summed, stands in front of the Σ
    assert classes_in(product([leaf("W", [5, 9]), leaf("x", [9])], [9])) == [9, 5]
    assert classes_in("no placeholders [1, 2]") == []
    assert classes_in(leaf("x", [12, 3, 12])) == [12, 3]


def test_classes_in_returns_a_fresh_list_each_time():
    template = leaf("A", [40, 41])
    first = classes_in(template)
    first.append(99)
    assert classes_in(template) == [40, 41]


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("x", "x"),
        ("-x", "-x"),
        ("W x", "(W x)"),
        ("tanh(W x)", "tanh(W x)"),
        ("np.tanh(W x)", "np.tanh(W x)"),
        ("log_sum(a + b)", "log_sum(a + b)"),
        ("(a + b)", "(a + b)"),
        ("(a) (b)", "((a) (b))"),
        ("f(a) + g(b)", "(f(a) + g(b))"),
        ("W (x + y)", "(W (x + y))"),
        ("Σ_⟨9⟩ W[⟨5⟩,⟨9⟩] x[⟨9⟩]", "(Σ_⟨9⟩ W[⟨5⟩,⟨9⟩] x[⟨9⟩])"),
    ],
)
def test_grouped_parenthesises_compound_expressions_only(expr, expected):
    assert grouped(expr) == expected


def test_sum_of_writes_minus_signs():
    assert sum_of(["a", "-b"]) == "(a − b)"
    assert sum_of(["a", "b", "-c"]) == "(a + b − c)"
    assert sum_of(["-a", "b"]) == "(-a + b)"  # a leading minus stays on the first part
    assert sum_of(["-a", "-b"]) == "(-a − b)"


def test_sum_of_equal_parts_is_a_multiple():
    assert sum_of(["x", "x"]) == "(2 x)"
    assert sum_of(["x", "x", "x"]) == "(3 x)"


def test_sum_of_takes_a_generator():
    assert sum_of(part for part in ["a", "b"]) == "(a + b)"


def test_contraction_renames_placeholders_with_the_classes():
    A, x = Term.dense(np.ones((2, 3)), "A"), Term.dense(np.ones(3), "x")
    result = contract_terms([(A, "ij"), (x, "j")], "i", max_factors=None)
    (i,) = result.axes[0]
    name = result.product_name([i])
    (j,) = [c for c in classes_in(name) if c != i]
    assert render(name, {i: "i", j: "j"}) == "Σ_j A[i,j] x[j]"


def test_a_split_class_is_split_in_the_names_too():
    a, b = fresh_class(), fresh_class()
    flattening = Term((), ((a, b), (a,), (b,)), {a: 2, b: 3})
    M = Term.dense(np.ones((5, 6)), "M")
    result = contract_terms([(M, "ky"), (flattening, "yab")], "kab")
    labels = {axis[0]: label for axis, label in zip(result.axes, "kab", strict=True)}
    assert render(result.product_name(list(labels)), labels) == "M[k,a,b]"


def _deep_formulas(depth):
    import tensordiff as td

    rng = np.random.default_rng(3)
    matrices = [rng.normal(size=(2, 2)) for _ in range(depth)]

    def f(h):
        for W in matrices:
            h = np.tanh(W @ h) * 0.5 - 0.25
        return h

    x = rng.normal(size=2)
    jacobians = [td.jacobian(f, mode=mode)(x) for mode in ("optimal", "reverse", "forward")]
    jacobians.append(td.hessian(lambda v: np.sum(f(v) ** 2))(x))
    texts = [J.formula for J in jacobians] + [str(td.explain(f)(x))]
    # Past the fresh letters, a summed index is written s<class id>: ids differ per run.
    return [re.sub(r"(?<![A-Za-z0-9])s\d+(?![0-9])", "s#", text) for text in texts]


def test_deferred_names_write_the_same_formulas_as_names_written_at_once(monkeypatch):
    """A 12-layer chain's names run to thousands of characters: deferred by default,
    written out at every step when the threshold is out of reach; the text is the same."""
    from tensordiff.core import templates

    threshold = templates.EAGER_CHARACTERS
    deferred = _deep_formulas(12)
    monkeypatch.setattr(templates, "EAGER_CHARACTERS", 10**12)
    eager = _deep_formulas(12)
    assert deferred == eager
    assert min(len(formula) for formula in eager) > threshold


def test_formulas_do_not_depend_on_how_many_classes_were_numbered_before():
    """Names are deferred and shared by their printed length: a class numbered 10⁷ prints
    as one letter, as a class numbered 7 does."""
    from tensordiff.core.term import fresh_class, reserve_classes_up_to

    before = _deep_formulas(12)
    reserve_classes_up_to(fresh_class() + 10**7)
    assert _deep_formulas(12) == before


def test_a_deferred_name_deeper_than_the_recursion_limit_is_written():
    import sys

    from tensordiff.core.templates import Deferred, text

    name = leaf("x", [1])
    layers = sys.getrecursionlimit() + 100
    for _ in range(layers):
        name = product([substitute(name, {1: (2,)}), "L" * 1001], [])
        name = substitute(name, {2: (1,)})
    assert isinstance(name, Deferred)
    written = text(name)
    assert written.startswith("x[⟨1⟩] L") and written.count("L" * 1001) == layers


def test_a_part_used_twice_is_written_once_and_defined_after_what_it_uses():
    """A long part that a deferred template uses twice becomes one reference ⟪n⟫[…] with
    its open classes as indices; its definition lists the intermediates it uses first."""
    long = templates.intermediate("h" + " + h" * templates.INTERMEDIATE_CHARACTERS)
    part = templates.product([f"{long}[⟨1⟩]", "W" * templates.EAGER_CHARACTERS + "[⟨1⟩,⟨2⟩]"], [1])
    whole = templates.sum_of([part, templates.substitute(part, {2: (3,)})])
    written = templates.text(whole)
    reference = re.search(r"⟪\d+⟫", written.replace(long, "")).group(0)
    assert written == f"({reference}[⟨2⟩] + {reference}[⟨3⟩])"
    assert templates.free_count(reference) == 1
    assert templates.definitions_in(written) == [("z", long), ("P", reference)]


def test_pickled_names_print_the_same_formula_in_another_process(tmp_path):
    """A reference means something only in the process that made it: a pickled term takes
    its intermediates along, and prints the same formula where another table differs."""
    source = (
        "import pickle, sys, numpy as np, tensordiff as td\n"
        "from tensordiff.core import templates\n"
        "W = np.full((3, 3), 0.1)\n"
        "def f(h):\n"
        "    for _ in range(14):\n"
        "        h = h + np.tanh(W @ h)\n"
        "    return h\n"
        "if sys.argv[1] == 'save':\n"
        "    J = td.jacobian(f)(np.ones(3))\n"
        "    open(sys.argv[2], 'wb').write(pickle.dumps(J))\n"
        "    print(J.formula)\n"
        "else:\n"
        "    templates.intermediate('x' * 999)  # this process's table differs\n"
        "    print(pickle.loads(open(sys.argv[2], 'rb').read()).formula)\n"
    )
    script, saved = tmp_path / "run.py", tmp_path / "J.pkl"
    script.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    printed = [
        subprocess.run(
            [sys.executable, str(script), step, str(saved)],
            capture_output=True, text=True, check=True, env=env,
        ).stdout
        for step in ("save", "load")
    ]  # fmt: skip
    assert "P₁[i,j] = " in printed[0] and printed[0] == printed[1]
