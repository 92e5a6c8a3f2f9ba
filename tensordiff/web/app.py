"""The local teaching page: a Starlette app, served by Uvicorn (the ``web`` extra).

``GET /?expr=...&wrt=W&shape=W=3,4&shape=x=4`` is the explanation of that
expression, typeset, so a link reproduces a view; ``GET /`` is the form with
examples. Bad input is the page with the error and a caret under its part of
the expression, status 400, never a traceback. One page writes at most
:data:`PAGE_MEMORY_LIMIT` bytes in any dense array. The vendored KaTeX and the
page's script and style are served from ``/static/``; a Content-Security-Policy
keeps the browser from loading anything from anywhere else.

The app knows no expression language: the command line hands it the function
that explains a query (``explain(expr, wrt, shapes, seed=...)``) and the one that
says in one line what went wrong, so the page and ``tensordiff explain`` read the
same language with the same whitelist.
"""

import html
import re
from collections.abc import Callable
from urllib.parse import urlencode

from tensordiff.core import memory
from tensordiff.web.katex import STATIC_DIR
from tensordiff.web.page import caret, document, sections

__all__ = ["create_app", "run", "CONTENT_SECURITY_POLICY", "EXAMPLES", "PAGE_MEMORY_LIMIT"]

# KaTeX sets sizes in style attributes, and matplotlib's SVG carries a <style>: hence
# 'unsafe-inline' for styles only. Scripts come from this server alone.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; font-src 'self' data:;"
    " style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'none';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The largest dense array one page may write (the command line's limit if that is lower).
PAGE_MEMORY_LIMIT = 256 * 2**20
_NEEDS_WEB = "tensordiff serve needs the 'web' extra: pip install 'tensordiff[web]'"
EXAMPLES = [
    ("W @ x", "W", ["W=3,4", "x=4"]),
    ("sum((W @ x - y)**2)", "W", ["W=3,4", "x=4", "y=3"]),
    ("tanh(W @ x + b)", "W", ["W=2,3", "x=3", "b=2"]),
    ("einsum('ij,j->i', W, x)", "x", ["W=3,4", "x=4"]),
]


def query_string(expression: str, wrt: str | None, shapes: list[str], seed: str = "") -> str:
    """The page's address for an explanation (``shape`` repeated, as the CLI's flag; the
    random seed of the values only when one is chosen).

    >>> query_string("W @ x", "W", ["W=3,4", "x=4"])
    '/?expr=W+%40+x&wrt=W&shape=W%3D3%2C4&shape=x%3D4'
    """
    pairs = [("expr", expression)] + ([("wrt", wrt)] if wrt else [])
    pairs += [("shape", shape) for shape in shapes] + ([("seed", seed)] if seed else [])
    return "/?" + urlencode(pairs)


def create_app(explain: Callable, describe_error: Callable[[BaseException], str]):
    """The Starlette app of the page."""
    try:
        from starlette.applications import Starlette  # lazy: optional extra
        from starlette.middleware import Middleware  # lazy: optional extra
        from starlette.responses import HTMLResponse  # lazy: optional extra
        from starlette.routing import Mount, Route  # lazy: optional extra
        from starlette.staticfiles import StaticFiles  # lazy: optional extra
    except ImportError as error:
        raise ImportError(_NEEDS_WEB) from error

    def index(request) -> HTMLResponse:  # (sync: Starlette runs it in a worker thread)
        params = request.query_params
        expression = params.get("expr", "").strip()
        wrt = params.get("wrt", "").strip() or None
        shapes = [shape.strip() for shape in params.getlist("shape") if shape.strip()]
        seed = params.get("seed", "").strip()
        form = _form(expression, wrt, shapes, seed)
        if not expression:
            return HTMLResponse(document(form + _examples(), "tensordiff"))
        if not re.fullmatch(r"\d{0,9}", seed):
            return _refused(form, f"the random seed {seed!r} is not a whole number ≥ 0")
        try:
            # a link anyone can open must not make the server write gigabytes
            with memory.memory_limit(min(memory.get_memory_limit(), PAGE_MEMORY_LIMIT)):
                explanation = explain(expression, wrt, shapes, seed=int(seed or 0))
                shown = sections(explanation)  # (its heatmap writes the dense Jacobian)
        except Exception as error:  # noqa: BLE001  (the page shows the error, never a traceback)
            where = getattr(error, "column", None), getattr(error, "width", 1)
            return _refused(form, describe_error(error), expression, *where)
        link = query_string(expression, wrt, shapes, seed)
        body = (
            form + f'<p class="how">Link to this explanation: <a id="link" href="'
            f'{html.escape(link)}">{html.escape(link)}</a></p>\n' + shown
        )
        return HTMLResponse(document(body, f"tensordiff: ∂({expression})"))

    return Starlette(
        routes=[
            Route("/", index),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[Middleware(_SecurityHeaders)],
    )


class _SecurityHeaders:
    """ASGI middleware adding the Content-Security-Policy (and no MIME sniffing) to every
    response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _refused(form: str, message: str, expression: str = "", column=None, width: int = 1):
    """The form and what went wrong (with a caret under its place in the expression)."""
    from starlette.responses import HTMLResponse  # lazy: optional extra

    where = ""
    if column is not None and len(expression) <= 200:
        where = f'<pre class="caret">{html.escape(caret(expression, column, width))}</pre>'
    body = f'{form}<div class="error" role="alert"><p>{html.escape(message)}</p>{where}</div>'
    return HTMLResponse(document(body, "tensordiff: error"), status_code=400)


def _form(expression: str, wrt: str | None, shapes: list[str], seed: str) -> str:
    boxes = shapes + [""] * max(2, 4 - len(shapes))
    shape_inputs = "".join(
        f'<input name="shape" value="{html.escape(shape)}" aria-label="shape {n + 1}"'
        + (' placeholder="x=4">' if n == len(shapes) else ">")
        for n, shape in enumerate(boxes)
    )
    return (
        "<h1>tensordiff: derivatives of arrays, made concrete</h1>\n"
        '<form method="get" action="/">'
        '<label for="expr">expression</label>'
        f'<input id="expr" name="expr" value="{html.escape(expression)}"'
        ' placeholder="sum((W @ x - y)**2)" spellcheck="false">'
        '<label for="wrt">with respect to</label>'
        f'<input id="wrt" name="wrt" value="{html.escape(wrt or "")}" placeholder="W">'
        f'<label>shapes</label><div class="shapes">{shape_inputs}</div>'
        '<label for="seed">random seed</label>'
        f'<input id="seed" name="seed" value="{html.escape(seed)}" placeholder="0"'
        ' inputmode="numeric">'
        '<button type="submit">Explain</button></form>\n'
    )


def _examples() -> str:
    items = "".join(
        f'<li><a href="{html.escape(query_string(expression, wrt, shapes))}">'
        f"<code>{html.escape(expression)}</code> by {wrt}</a></li>"
        for expression, wrt, shapes in EXAMPLES
    )
    return (
        "<p>Type a NumPy expression (the language of <code>tensordiff explain</code>:"
        " <code>+ - * / ** @</code>, <code>.T</code>, indexing, <code>tanh</code>,"
        " <code>sum(X, axis=0)</code>, <code>einsum</code>, <code>linalg.inv</code>, …),"
        " the variable to differentiate by, and a shape per variable. The page shows what"
        " the derivative is, each local Jacobian, the chain rule as the contractions"
        " performed, the result and its cost.</p>"
        f"<p>Examples:</p><ul>{items}</ul>"
    )


def run(app, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``app`` at ``http://host:port/`` until Ctrl-C."""
    try:
        import uvicorn  # lazy: optional extra
    except ImportError as error:
        raise ImportError(_NEEDS_WEB) from error

    shown = f"[{host}]" if ":" in host else host
    print(f"tensordiff: serving the page at http://{shown}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
