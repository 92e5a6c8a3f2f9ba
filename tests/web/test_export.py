"""The static export: one self-contained HTML file (``Explanation.html()``, ``tensordiff
explain --format html -o``) and the notebook display. That it renders offline in a
real browser is tested in test_browser.py."""

import html
import re
from html.parser import HTMLParser

import numpy as np

import tensordiff as td
from tensordiff.cli import main
from tensordiff.cli.request import explain_expression
from tensordiff.text.latex import to_latex
from tensordiff.web.katex import KATEX_DIR, script


class Addresses(HTMLParser):
    """Every address an element of the document refers to (scripts' text is not parsed)."""

    def __init__(self, text: str):
        super().__init__()
        self.found: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_export_inlines_katex_and_its_fonts_and_links_nothing():
    x = np.arange(1.0, 4.0)
    page = td.explain(lambda W: np.tanh(W @ x))(np.ones((2, 3))).html()
    addresses = Addresses(page).found
    assert len(addresses) == 3  # the three pictures, inlined
    assert all(address.startswith("data:image/svg+xml;base64,") for address in addresses)
    assert script() in page  # the vendored KaTeX itself, whole
    fonts = sorted(path.name for path in (KATEX_DIR / "fonts").glob("*.woff2"))
    inlined = re.findall(r"url\(data:font/woff2;base64,", page)
    assert len(inlined) == len(fonts)
    assert not re.search(r"url\((?!data:)", page.split("<script>")[0])  # styles: data only


def test_the_cli_writes_the_same_page_as_the_library(tmp_path):
    target = tmp_path / "page.html"
    argv = ["explain", "W @ x", "--wrt", "W", "--shape", "W=3,4", "--shape", "x=4"]
    assert main(argv + ["--format", "html", "-o", str(target)]) == 0
    expected = explain_expression("W @ x", "W", ["W=3,4", "x=4"])
    written = target.read_text(encoding="utf-8")
    assert written == expected.html(title="tensordiff explain W @ x") + "\n"
    assert html.escape(to_latex(expected.formula)) in written


def test_the_notebook_display_is_typeset_maths_not_preformatted_text():
    x = np.arange(1.0, 5.0)
    explanation = td.explain(lambda W: W @ x)(np.ones((3, 4)))
    shown = explanation._repr_html_()
    assert "<pre" not in shown
    assert html.escape(r"\[" + to_latex(explanation.formula) + r"\]") in shown
    assert html.escape(r"\[" + to_latex(explanation.matrix) + r"\]") in shown
