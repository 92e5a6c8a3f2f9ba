"""The vendored KaTeX: where its files are, and its stylesheet with the fonts inlined.

The page serves the files as they are; a static export inlines them, the woff2
fonts as ``data:`` URIs, so the file renders offline and alone.

>>> (KATEX_DIR / "katex.min.js").is_file()
True
>>> css = inlined_stylesheet()
>>> "url(fonts/" in css, "data:font/woff2;base64," in css
(False, True)
"""

import base64
import functools
import re
from pathlib import Path

__all__ = ["STATIC_DIR", "KATEX_DIR", "VERSION", "inlined_stylesheet", "script"]

STATIC_DIR = Path(__file__).resolve().parent / "static"  # the page's own files, and KaTeX's
KATEX_DIR = STATIC_DIR / "katex"
VERSION = "0.19.1"

# One font source list of the stylesheet: woff2 first, then woff and ttf fallbacks.
_FONT_SOURCES = re.compile(r'src:url\(fonts/([\w-]+\.woff2)\) format\("woff2"\)[^;}]*')


@functools.cache
def script() -> str:
    """katex.min.js."""
    return (KATEX_DIR / "katex.min.js").read_text(encoding="utf-8")


@functools.cache
def inlined_stylesheet() -> str:
    """katex.min.css with each font as a woff2 ``data:`` URI (the fallbacks, which are
    not vendored, dropped)."""

    def inline(match: re.Match) -> str:
        font = (KATEX_DIR / "fonts" / match[1]).read_bytes()
        data = base64.b64encode(font).decode("ascii")
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    css = (KATEX_DIR / "katex.min.css").read_text(encoding="utf-8")
    return _FONT_SOURCES.sub(inline, css)
