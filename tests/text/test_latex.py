"""The LaTeX of every explanation renders in KaTeX, and reads as mathematics.

The corpus is the explanation (``Explanation.latex()``, and every formula the
page and the HTML export typeset from it) of every case of the operations
table and of the read-back corpus (with its Hessians), the ``tensordiff explain
--help`` examples run as printed, views of named arrays and Hessians. Each is
rendered by KaTeX itself (``node`` running KaTeX's own JavaScript) in strict mode,
so an undefined command, a double subscript or a character outside LaTeX fails the
test. KaTeX is the copy the page vendors (``tensordiff/web/static/katex``), or
``$KATEX_PATH`` (a package directory, e.g. ``…/node_modules/katex``) to try another
version; without node the rendering test is skipped and says so. The textual checks
below run everywhere.
"""

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess

import numpy as np
import pytest
from cases import cases
from expressions import CORPUS as READ_BACK
from expressions import HESSIANS, MATRIX_HESSIANS, S3, SINGULAR, SINGULAR_HESSIANS, function, p3

import tensordiff as td
from tensordiff.cli import main
from tensordiff.cli.main import EXPLAIN_EXAMPLES
from tensordiff.text.latex import to_latex
from tensordiff.web.katex import KATEX_DIR
from tensordiff.web.page import latex_strings

RENDER = """
const katex = require(process.argv[1]);
let data = '';
process.stdin.on('data', chunk => data += chunk);
process.stdin.on('end', () => {
  const errors = JSON.parse(data).map(tex => {
    try {
      katex.renderToString(tex, {displayMode: true, throwOnError: true, strict: 'error'});
      return null;
    } catch (error) {
      return String(error.message);
    }
  });
  process.stdout.write(JSON.stringify(errors));
});
"""


def katex_module() -> str | None:
    """The path node should require for KaTeX, or None if there is no node."""
    if shutil.which("node") is None:
        return None
    return os.environ.get("KATEX_PATH") or str(KATEX_DIR / "katex.min.js")


def explanations() -> list[tuple[str, str]]:
    """(name, LaTeX) for the corpus: each explanation's ``latex()`` and every formula its
    page shows (``name/page-N``)."""
    rng = np.random.default_rng(6)
    corpus = []
    for case in cases():
        args = [rng.uniform(case["low"], case["high"], size=shape) for shape in case["shapes"]]
        explanation = td.explain(case["f"])(*args)
        corpus.append((case["id"], explanation.latex()))
        corpus += [
            (f"{case['id']}/page-{n}", tex)
            for n, tex in enumerate(dict.fromkeys(latex_strings(explanation)))
        ]
    W, x, b = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)
    A, y = rng.normal(size=(3, 3)), rng.normal(size=3)

    def loss(W):
        return np.sum(np.tanh(W @ x + b) ** 2)

    corpus += [
        ("help-layer", td.explain(lambda W: np.tanh(W @ x + b))(W).latex()),
        ("help-einsum", td.explain(lambda x: np.einsum("ij,j->i", W, x))(x).latex()),
        ("transpose-view", td.explain(lambda y: A.T @ y)(y).latex()),
        ("flip-view", td.explain(lambda y: np.sum(y * np.flip(x)))(y).latex()),
        ("named-loss", td.explain(loss)(W).latex()),
        ("legend-where", td.explain(lambda y: np.where(y > 0, y, 0.1 * y))(y).latex()),
        ("legend-ties", td.explain(lambda y: np.maximum(np.abs(y), 0.5) * np.max(y))(y).latex()),
        ("legend-selection", td.explain(lambda y: y[1] * y[::2] + np.fmax(y[:2], 0.0))(y).latex()),
        ("hessian", to_latex(td.hessian(loss)(W).formula)),
        ("hessian-vector", to_latex(td.hessian(lambda y: np.sum(np.exp(A @ y)))(y).formula)),
    ]
    return corpus + _help_examples() + _read_back_corpus()


def _help_examples() -> list[tuple[str, str]]:
    """The LaTeX of each example ``tensordiff explain --help`` prints, run as printed."""
    corpus = []
    for line in EXPLAIN_EXAMPLES.splitlines():
        if not line.strip().startswith("tensordiff explain "):
            continue
        argv = shlex.split(line)[1:]
        if "-o" in argv:  # the html example writes a file: its formulas are the same
            continue
        argv = [arg for arg in argv if arg not in ("--format", "latex")]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main([*argv, "--format", "latex"]) == 0
        corpus.append((f"help: {line.strip()}", out.getvalue().strip()))
    return corpus


def _read_back_corpus() -> list[tuple[str, str]]:
    """Every explanation of the read-back corpus, and its Hessians."""
    corpus = [
        (f"{source} @{point.shape}", td.explain(function(source, argument))(point).latex())
        for source, argument, point in READ_BACK
    ]
    hessians = [(source, p3) for source in HESSIANS] + [(s, S3) for s in MATRIX_HESSIANS]
    hessians += [(source, SINGULAR) for source in SINGULAR_HESSIANS]
    return corpus + [
        (f"hessian {source}", to_latex(td.hessian(function(source, "x"))(point).formula))
        for source, point in hessians
    ]


CORPUS = explanations()


def test_every_explanation_renders_in_katex():
    module = katex_module()
    if module is None:
        pytest.skip("KaTeX rendering needs node")
    run = subprocess.run(
        ["node", "-e", RENDER, module],
        input=json.dumps([tex for _, tex in CORPUS]),
        capture_output=True,
        text=True,
        check=True,
    )
    errors = json.loads(run.stdout)
    failures = [
        f"{name}: {error}" for (name, _), error in zip(CORPUS, errors, strict=True) if error
    ]
    assert not failures, "\n".join(failures)


def prose(tex: str) -> str:
    """What KaTeX sets in italic letters: no commands, upright text or subscripts."""
    tex = re.sub(r"\\text\{[^{}]*\}", " ", tex)  # words between two letters part them
    tex = re.sub(r"\\(mathrm|operatorname|begin|end)\{[^{}]*\}", "", tex)
    tex = re.sub(r"_\{[^{}]*\}", "", tex)
    return re.sub(r"\\[A-Za-z]+", "", tex)


@pytest.mark.parametrize("name, tex", CORPUS, ids=[name for name, _ in CORPUS])
def test_names_and_functions_are_upright_and_rows_aligned(name, tex):
    assert not re.search(r"[A-Za-z]{2,}", prose(tex)), prose(tex)
    assert "axis=" not in tex
    if tex.startswith("\\begin{align*}"):
        rows = tex.split("\n")[1:-1]
        assert all("&=" in row for row in rows), rows


@pytest.mark.parametrize(
    "text, tex",
    [
        (
            "∂vec f/∂vec W = xᵀ ⊗ I₂",
            r"\frac{\partial \operatorname{vec} f}{\partial \operatorname{vec} W}",
        ),
        ("∂f/∂W = diag(s)", r"\operatorname{diag}(s)"),
        ("∂f/∂W = I₁₂", r"I_{12}"),
        ("∂loss/∂W[i,j] = 1", r"\frac{\partial \mathrm{loss}}{\partial W_{ij}}"),
        ("∂²f/∂W[i,j]∂W[k,l] = 1", r"\frac{\partial^{2}f}{\partial W_{ij}\,\partial W_{kl}}"),
        ("∂f/∂x[i] = max(x, 0)[i]", r"\max(x, 0)_{i}"),
        # a function the user named ln is no logarithm operator (it printed \ln_{i})
        ("∂ln[i]/∂x[j] = 1", r"\frac{\partial \mathrm{ln}_{i}}{\partial x_{j}}"),
        ("∂f/∂x[i] = sum(x, axis=1)[i]", r"\operatorname{sum}(x, \mathrm{axis}=1)_{i}"),
        ("∂f/∂x[i] = K1[i] √x[i]", r"K_{1}{}_{i}\,\sqrt{x_{i}}"),
        ("∂f[i]/∂x[j] = 2.5·10⁻¹² δ[i,j]", r"2.5\cdot 10^{-12}\,\delta_{ij}"),
        ("∂f[i]/∂x[j] = −2 δ[i,j] x^−3[i]", r"x^{-3}_{i}"),  # x^-3_{i} raised only the −
        ("∂f/∂x[i] = x^2.5[i]", r"x^{2.5}_{i}"),
        ("∂f/∂x[i] = x̂[i]", r"\hat{x}_{i}"),
    ],
)
def test_latex_of_textbook_pieces(text, tex):
    assert tex in to_latex(text)


@pytest.mark.parametrize(
    "constant, printed",
    [(1e-5, "10⁻⁵"), (2.5e-12, "2.5·10⁻¹²"), (-3e-8, "−3·10⁻⁸"), (1e20, "10²⁰"), (0.25, "0.25")],
)
def test_numbers_are_written_as_a_textbook_writes_them(constant, printed):
    """One typography for every number, in a coefficient as in an expression: 10⁻⁵, not
    1e-05 beside −; in LaTeX 10^{-5}."""
    scaled = td.explain(lambda x: x * constant)(p3)
    assert scaled.formula == f"∂f[i]/∂x[j] = {printed} δ[i,j]"
    shifted = td.explain(lambda x: np.sqrt(x + abs(constant)))(p3)
    assert f"√(x + {printed.lstrip('−')})" in shifted.formula
    for e in (scaled, shifted):
        assert not re.search(r"\de[-−+]", e.formula + e.latex()), e.formula
