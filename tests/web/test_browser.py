"""The page in a real browser (headless Chromium): what a person sees.

The maths is typeset by KaTeX (as many .katex elements as formulas, no
.katex-error), the pictures are drawn, bad input shows the error with its caret,
a link reproduces a view, the static export renders from disk with the network
off, and no request goes anywhere but the local server.

``TENSORDIFF_UPDATE_SCREENSHOT=1`` also writes the screenshot to docs/page.png.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

import tensordiff as td
from tensordiff.cli.request import explain_expression
from tensordiff.web.app import query_string

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE = ("sum((W @ x - y)**2)", "W", ["W=3,4", "x=4", "y=3"])


def typeset(page) -> None:
    page.wait_for_selector("body[data-typeset=done]", timeout=30_000)


def assert_all_maths_rendered(page) -> None:
    formulas = page.locator("[data-tex]").count()
    assert formulas > 0
    assert page.locator("[data-tex] > .katex, [data-tex] > .katex-display").count() == formulas
    assert page.locator(".katex-error").count() == 0


def assert_only_local(page, server: str) -> None:
    local = urlsplit(server).netloc
    outside = [
        url
        for url in page.requested
        if not (urlsplit(url).netloc == local or url.startswith("data:"))
    ]
    assert not outside, outside


def test_a_query_is_typeset_with_its_pictures(server, page):
    response = page.goto(server + query_string(*EXAMPLE))
    assert response.status == 200
    typeset(page)
    assert_all_maths_rendered(page)
    explanation = explain_expression(*EXAMPLE)
    # the result's formula, as KaTeX writes it for screen readers (MathML annotation)
    annotations = page.locator("#result annotation").all_text_contents()
    assert any("partial" in tex for tex in annotations)
    assert len(explanation.steps) == page.locator("#chain li").count()
    pictures = page.locator("#pictures img")
    assert pictures.count() == 3
    widths = pictures.evaluate_all("images => images.map(image => image.naturalWidth)")
    assert all(width > 100 for width in widths), widths
    assert page.evaluate("document.fonts.check('16px KaTeX_Main')")
    assert_only_local(page, server)
    screenshot = page.screenshot(full_page=True)
    assert screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("TENSORDIFF_UPDATE_SCREENSHOT"):
        (REPOSITORY / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(REPOSITORY / "docs" / "page.png"))


def test_the_form_makes_a_link_that_reproduces_the_view(server, page, browser):
    page.goto(server + "/")
    page.fill("#expr", "tanh(W @ x + b)")
    page.fill("#wrt", "W")
    for n, shape in enumerate(["W=2,3", "x=3", "b=2"]):
        page.locator("input[name=shape]").nth(n).fill(shape)
    page.click("button[type=submit]")
    typeset(page)
    assert page.url == server + query_string("tanh(W @ x + b)", "W", ["W=2,3", "x=3", "b=2"])
    shared = browser.new_page()
    try:
        shared.goto(page.url)
        typeset(shared)
        assert shared.inner_text("main") == page.inner_text("main")
    finally:
        shared.close()
    assert_only_local(page, server)


def test_bad_input_shows_the_error_and_the_caret(server, page):
    response = page.goto(server + query_string("W @ frobnicate(x)", "W", ["W=3,4", "x=4"]))
    assert response.status == 400
    error = page.locator(".error")
    assert error.is_visible()
    assert "unknown function 'frobnicate'" in error.inner_text()
    assert page.inner_text(".caret") == "W @ frobnicate(x)\n    ^^^^^^^^^^"
    assert page.locator("#expr").input_value() == "W @ frobnicate(x)"  # to correct it
    assert_only_local(page, server)


def test_the_static_export_renders_from_disk_offline(browser, tmp_path):
    x = np.arange(1.0, 5.0)
    path = tmp_path / "page.html"
    path.write_text(td.explain(lambda W: np.tanh(W @ x))(np.ones((3, 4))).html(), "utf-8")
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(path.as_uri())
        typeset(page)
        assert_all_maths_rendered(page)
        assert page.evaluate("document.fonts.check('16px KaTeX_Main')")
        assert page.locator("img").count() == 3
        assert all(url == path.as_uri() or url.startswith("data:") for url in requested)
    finally:
        context.close()
