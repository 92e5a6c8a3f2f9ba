"""The teaching page: explanations as HTML typeset by the vendored KaTeX, and the local server.

Needs the ``web`` extra (Starlette, Uvicorn, matplotlib) for the server; the HTML
itself needs only the ``plot`` extra for its pictures.
"""
