"""The page's app over HTTP (Uvicorn in a thread): the explanation a query asks for,
errors with the caret, the security headers, the vendored files; and ``tensordiff
serve`` itself, started and stopped with Ctrl-C as a person would."""

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tensordiff.cli.expression import ExpressionError
from tensordiff.cli.request import explain_expression
from tensordiff.text.latex import to_latex
from tensordiff.web.app import CONTENT_SECURITY_POLICY, EXAMPLES, query_string
from tensordiff.web.katex import KATEX_DIR

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def shown_latex(body: str) -> list[str]:
    return [html.unescape(tex) for tex in re.findall(r'data-tex="([^"]*)"', body)]


def test_a_query_shows_the_explanation_the_library_computes(client):
    shapes = ["W=3,4", "x=4", "y=3"]
    response = client.get(query_string("sum((W @ x - y)**2)", "W", shapes))
    assert response.status_code == 200
    explanation = explain_expression("sum((W @ x - y)**2)", "W", shapes)
    latex = shown_latex(response.text)
    assert to_latex(explanation.formula) in latex
    assert to_latex(explanation.matrix) in latex
    for item in explanation.intermediates:
        assert all(to_latex(local) in latex for local in item["local_jacobians"])
    assert len([tex for tex in latex if r"\sum_" in tex]) == len(explanation.steps) - 1


def test_wrt_picks_the_variable_and_a_seed_changes_only_the_values(client):
    by_x = client.get("/?expr=W @ x&wrt=x&shape=W=3,4&shape=x=4")
    assert r"\frac{\partial f_{i}}{\partial x_{j}} = W_{ij}" in shown_latex(by_x.text)
    reseeded = client.get("/?expr=W @ x&wrt=x&shape=W=3,4&shape=x=4&seed=7")
    assert shown_latex(reseeded.text) == shown_latex(by_x.text)  # symbolic: no numbers
    assert reseeded.text != by_x.text  # the heatmap of other values
    assert html.escape(query_string("W @ x", "x", ["W=3,4", "x=4"], "7")) in reseeded.text
    refused = client.get("/?expr=W @ x&wrt=x&shape=W=3,4&shape=x=4&seed=-1")
    assert refused.status_code == 400
    assert "the random seed &#x27;-1&#x27; is not a whole number ≥ 0" in refused.text


def test_the_page_links_to_itself(client):
    address = query_string("tanh(W @ x + b)", "W", ["W=2,3", "x=3", "b=2"])
    first = client.get(address)
    link = html.unescape(re.search(r'id="link" href="([^"]*)"', first.text)[1])
    assert link == address
    assert client.get(link).text == first.text


@pytest.mark.parametrize(
    "expression, shapes",
    [("W @ q", ["W=3,4"]), ("W @ frobnicate(x)", ["W=3,4", "x=4"]), ("W @ (x", ["W=3,4"])],
)
def test_bad_input_is_the_cli_message_with_a_caret_and_status_400(client, expression, shapes):
    with pytest.raises(ExpressionError) as raised:
        explain_expression(expression, None, shapes)
    response = client.get(query_string(expression, None, shapes))
    assert response.status_code == 400
    assert html.escape(str(raised.value)) in response.text
    caret_line = " " * raised.value.column + "^" * raised.value.width
    assert f'<pre class="caret">{html.escape(expression)}\n{caret_line}</pre>' in response.text
    assert "Traceback" not in response.text


def test_a_library_error_is_shown_in_one_line_without_a_caret(client):
    with pytest.raises(ValueError) as raised:  # shapes that do not fit
        explain_expression("W @ x", "W", ["W=3,4", "x=5"])
    response = client.get(query_string("W @ x", "W", ["W=3,4", "x=5"]))
    assert response.status_code == 400
    assert html.escape(str(raised.value).splitlines()[0]) in response.text
    assert "caret" not in response.text and "Traceback" not in response.text


def test_the_form_and_every_example_link_work(client):
    response = client.get("/")
    assert response.status_code == 200 and '<form method="get" action="/">' in response.text
    for expression, wrt, shapes in EXAMPLES:
        address = query_string(expression, wrt, shapes)
        assert html.escape(address) in response.text
        assert client.get(address).status_code == 200


def test_every_response_forbids_other_origins(client):
    for path in ("/", "/?expr=W @ (", "/static/katex/katex.min.js"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_the_vendored_katex_is_served_as_it_is(client):
    served = client.get("/static/katex/katex.min.js")
    assert served.content == (KATEX_DIR / "katex.min.js").read_bytes()
    font = client.get("/static/katex/fonts/KaTeX_Main-Regular.woff2")
    assert font.status_code == 200 and font.content[:4] == b"wOF2"


def test_the_core_import_loads_no_optional_extra():
    code = (
        "import sys, tensordiff;"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'matplotlib') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "[]", run.stderr


def test_serve_prints_its_address_answers_and_stops_on_ctrl_c():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(REPOSITORY), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "tensordiff", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = server.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}/" in line
        address = f"http://127.0.0.1:{port}/?expr=W @ x&shape=W=2,2&shape=x=2"
        deadline = time.monotonic() + 30
        while True:  # the address is printed just before Uvicorn binds
            try:
                response = httpx.get(address, timeout=60)
                break
            except httpx.ConnectError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200 and "data-tex" in response.text
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0
        assert b"Traceback" not in server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_without_the_web_extra_serve_says_which_extra():
    code = (
        "import sys; sys.modules['starlette'] = None\n"  # as if it were not installed
        "from tensordiff.cli import main\n"
        "sys.exit(main(['serve', '--port', '0']))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "tensordiff serve: ImportError: tensordiff serve needs the 'web' extra:"
        " pip install 'tensordiff[web]'"
    )


def test_one_page_writes_no_dense_array_over_its_memory_limit(client):
    # ∂(W x)/∂W for a 400×400 W: 64 million entries, 512 MiB dense, over the page's 256 MiB.
    # The explanation needs no dense array (its costs are predicted); the heatmap would,
    # so in its place the page says why and what to draw instead.
    response = client.get(query_string("W @ x", "W", ["W=400,400", "x=400"]))
    assert response.status_code == 200
    assert r"\delta" in "".join(shown_latex(response.text))
    assert response.text.count("<figure>") == 2  # the network and the contraction tree
    assert "does not fit the memory limit" in response.text and "plot_network" in response.text
