"""An explanation as HTML: the sections of ``tensordiff explain``, the maths typeset by KaTeX.

The maths is written as LaTeX in ``data-tex`` attributes (with the index
notation as the text a reader sees before, or without, KaTeX), and
``page.js`` typesets it with the vendored KaTeX. The page the server sends
links the vendored files; :func:`standalone` inlines them (fonts as ``data:``
URIs) and the pictures, for one file that renders offline from disk. For
notebooks, :func:`notebook` writes the maths between ``\\(…\\)`` and ``\\[…\\]``
for the notebook's own MathJax.

>>> import numpy as np, tensordiff as td
>>> x = np.arange(1.0, 5.0)
>>> e = td.explain(lambda W: W @ x, out="i", wrt="jk")(np.ones((3, 4)))
>>> latex_strings(e)[0]
'\\\\frac{\\\\partial f}{\\\\partial W}'
>>> "katex.min.js" in document(sections(e))
True
"""

import base64
import html
from collections.abc import Callable

from tensordiff.errors import JacobianTooLarge
from tensordiff.plot import svg
from tensordiff.text.latex import to_latex
from tensordiff.web.katex import STATIC_DIR, inlined_stylesheet, script

__all__ = ["sections", "latex_strings", "document", "standalone", "notebook", "caret"]

# How one piece of maths is written: (LaTeX, the same as text, display?) -> HTML.
Writer = Callable[[str, str, bool], str]


def _katex_element(tex: str, text: str, display: bool) -> str:
    tag = "div" if display else "span"
    return f'<{tag} class="tex" data-tex="{html.escape(tex)}">{html.escape(text)}</{tag}>'


def _mathjax_delimited(tex: str, text: str, display: bool) -> str:
    opening, closing = (r"\[", r"\]") if display else (r"\(", r"\)")
    return html.escape(opening + tex + closing)


class _Collector:
    """A writer that only remembers the LaTeX it is given (for :func:`latex_strings`)."""

    def __init__(self):
        self.found: list[str] = []

    def __call__(self, tex: str, text: str, display: bool) -> str:
        self.found.append(tex)
        return ""


def latex_strings(explanation) -> list[str]:
    """Every LaTeX string the page shows for ``explanation``, in order."""
    collector = _Collector()
    sections(explanation, collector, figures=False)
    return collector.found


def sections(explanation, write: Writer = _katex_element, figures: bool = True) -> str:
    """The explanation as HTML sections: what the derivative is, the trace with the local
    Jacobians, the chain rule as performed, the result, the cost, and (with ``figures``)
    the pictures."""
    e = explanation
    parts = [_what(e, write), _trace(e, write), _chain(e, write), _result(e, write), _cost(e)]
    if figures:
        parts.append(_figures(e))
    return "\n".join(parts)


def _derivative(e) -> str:
    return f"∂{e.numerator}/∂{e.denominator}"


def _what(e, write: Writer) -> str:
    J = e.jacobian
    article = "a" if e.entity.startswith("scalar") else "an"
    derivative = _derivative(e)
    labels = ", ".join(J.out_indices) or "none"
    wrt_labels = ", ".join(J.in_indices) or "none"
    return (
        '<section id="what"><h2>What the derivative is</h2>\n'
        f"<p>{write(to_latex(derivative), derivative, False)} is {article}"
        f" {html.escape(e.entity)}.</p>\n"
        + (f"<p>{html.escape(e.layout)}</p>\n" if e.layout else "")
        + "<table><tr><th>order</th><th>shape</th><th>labels of the output</th>"
        "<th>labels of the argument</th></tr>"
        f"<tr><td>{J.ndim}</td><td>{html.escape(str(tuple(J.shape)))}</td>"
        f"<td>{html.escape(labels)}</td><td>{html.escape(wrt_labels)}</td></tr></table>"
        "</section>"
    )


def _trace(e, write: Writer) -> str:
    items = []
    for item in e.intermediates:
        definition = f"{item['name']} = {item['expression']}"
        shown = write(to_latex(definition), definition, False)
        jacobians = "".join(write(to_latex(d), d, True) for d in item["local_jacobians"])
        shape = html.escape(str(tuple(item["shape"])))
        items.append(f'<li>{shown} <span class="shape">shape {shape}</span>{jacobians}</li>')
    return (
        '<section id="trace"><h2>Trace: each intermediate, with its local Jacobian</h2>\n'
        f"<ol>{''.join(items)}</ol></section>"
    )


def _chain(e, write: Writer) -> str:
    items = []
    for step in e.steps:
        assign = "=" if step["assign"] == "=" else r"\mathrel{+}="
        target = to_latex(step["target"])
        if step["einsum"].startswith("(none"):  # the output's own local Jacobian
            tex = rf"{target} {assign} {to_latex(step['result'])}"
            how = "the output's own local Jacobian"
        else:
            summed = step["summed"].replace(",", "")
            total = rf"\sum_{{{summed}}} " if summed else ""
            product = r"\,".join(to_latex(factor) for factor in step["factors"])
            tex = (
                rf"\begin{{aligned}}{target} &{assign} {total}{product}"
                rf" \\ &= {to_latex(step['result'])}\end{{aligned}}"
            )
            how = f"einsum {step['einsum']}"
        notes = "".join(_delta_note(note, write) for note in step["deltas"])
        text = f"{step['contraction']} = {step['result']}"
        items.append(
            f'<li>{write(tex, text, True)}<p class="how"><code>{html.escape(how)}</code>'
            f"{notes}</p></li>"
        )
    return (
        '<section id="chain"><h2>The chain rule as performed'
        " (reverse order: from the output back)</h2>\n"
        f"<ol>{''.join(items)}</ol></section>"
    )


def _delta_note(note: str, write: Writer) -> str:
    """``δ[m,l] eliminated: m → l`` with the δ and the relabelling typeset."""
    delta, _, relabelling = note.partition(" eliminated: ")
    return (
        f'<span class="delta">{write(to_latex(delta), delta, False)} eliminated:'
        f" {write(to_latex(relabelling), relabelling, False)}</span>"
    )


def _result(e, write: Writer) -> str:
    rows = [write(to_latex(e.formula), e.formula, True)]
    if e.matrix:
        rows.append(f"<p>matrix form:</p>{write(to_latex(e.matrix), e.matrix, True)}")
    return f'<section id="result"><h2>Result</h2>\n{"".join(rows)}</section>'


def _cost(e) -> str:
    cost = e.cost
    rows = []
    for order, numbers in cost["orders"].items():
        chosen = order == cost["chosen"]
        rows.append(
            ('<tr class="chosen">' if chosen else "<tr>")
            + f"<td>{order}</td><td>{numbers['flops']:,}</td>"
            f"<td>{numbers['largest_intermediate']:,} entries</td>"
            f"<td>{'← chosen' if chosen else ''}</td></tr>"
        )
    return (
        '<section id="cost"><h2>Cost of each contraction order</h2>\n'
        f"<p>{html.escape(cost['storage'].capitalize())}. FLOPs count a multiply-add as 2.</p>"
        "<table><tr><th>order</th><th>FLOPs</th><th>largest intermediate</th><th></th></tr>"
        f"{''.join(rows)}</table></section>"
    )


def _figures(e) -> str:
    """The Jacobian's heatmap, its tensor network and the plan's contraction tree, as SVG
    images inlined as ``data:`` URIs (each SVG keeps its own ids apart)."""
    pictures = [
        (lambda: e.jacobian.plot(), "The entries of the Jacobian as its (out × in) matrix,"
         " the blocks of the outer labels ruled."),
        (lambda: e.jacobian.plot_network(), "Its tensor network: factors as nodes, labels as"
         " edges, each δ a bare wire (open labels: the output's left, the argument's right)."),
        (lambda: e.orders.plot(), "The chosen contraction order as a tree, each step with its"
         " cost, beside the FLOPs of every order."),
    ]  # fmt: skip
    figures = []
    for draw, caption in pictures:
        try:
            data = base64.b64encode(svg(draw()).encode("utf-8")).decode("ascii")
        except (ImportError, JacobianTooLarge) as error:  # no matplotlib, or too large
            figures.append(f'<p class="how">{html.escape(str(error))}</p>')
            continue
        figures.append(
            f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    return f'<section id="pictures"><h2>Pictures</h2>\n{"".join(figures)}</section>'


def caret(expression: str, column: int, width: int) -> str:
    """The expression with a caret line under the part an error is about (as the CLI)."""
    return f"{expression}\n{' ' * column}{'^' * max(width, 1)}"


def document(body: str, title: str = "tensordiff", inline: bool = False) -> str:
    """A whole HTML page around ``body``: linking the vendored KaTeX and the page's script
    and style under ``/static/``, or (``inline``) with all of them inlined."""
    if inline:
        head = (
            f"<style>{inlined_stylesheet()}</style>\n<style>{_static('page.css')}</style>\n"
            f"<script>{script()}</script>\n<script>{_static('page.js')}</script>"
        )
    else:
        head = (
            '<link rel="stylesheet" href="/static/katex/katex.min.css">\n'
            '<link rel="stylesheet" href="/static/page.css">\n'
            '<script src="/static/katex/katex.min.js" defer></script>\n'
            '<script src="/static/page.js" defer></script>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n{head}\n</head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


def standalone(explanation, title: str | None = None) -> str:
    """One self-contained HTML file: KaTeX (fonts too) and the pictures inlined."""
    title = title or f"tensordiff: {_derivative(explanation)}"
    body = f"<h1>{html.escape(title)}</h1>\n{sections(explanation)}"
    return document(body, title, inline=True)


def notebook(explanation) -> str:
    """The sections for a notebook: maths for its MathJax, pictures inlined."""
    return f'<div class="tensordiff">{sections(explanation, _mathjax_delimited)}</div>'


def _static(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")
