"""The page policy: no third-party origin, ``lang="nl"``, no referrer, a hash-based CSP.

The rendered page carries a Content Security Policy that allows only its own inline scripts (by
hash), so even an injected event handler would not run; the only external origin a page may
name is the tile server.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

_ORIGIN_RE = re.compile(r"""(?i)\b(?:https?:)?//[^\s"'<>()\\,;]+""")
_INLINE_SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def finish_page(html_text: str, tile_origin: str | None = None) -> str:
    """Check origins, set ``lang="nl"``, a no-referrer policy and a hash-based CSP on a page."""
    check_origins(html_text, tile_origin)
    hashes = sorted({_sha256(s) for s in _INLINE_SCRIPT_RE.findall(html_text)})
    csp = content_security_policy(tile_origin, hashes)
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="referrer" content="no-referrer">'
        # No favicon request (a 404 in the console otherwise).
        '<link rel="icon" href="data:,">'
    )
    html_text = re.sub(r"<html>", '<html lang="nl">', html_text, count=1)
    if "<head>" not in html_text:
        raise ValueError("page has no <head>")
    return html_text.replace("<head>", "<head>" + head, 1)


def content_security_policy(tile_origin: str | None, script_hashes: Sequence[str] = ()) -> str:
    """Only the app's own origin, the page's own inline scripts (by hash) and the tile server."""
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    img = "'self' data:" + (f" {tile_origin}" if tile_origin else "")
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'"
    )


def check_origins(html_text: str, tile_origin: str | None = None) -> None:
    """Raise ValueError when the page names any origin other than ``tile_origin``."""
    bad = sorted({u for u in external_urls(html_text) if not (tile_origin and _same_origin(u, tile_origin))})
    if bad:
        raise ValueError(f"third-party origin in page: {', '.join(bad[:5])}")


def external_urls(html_text: str) -> list[str]:
    """Every absolute or protocol-relative URL in a page (``http://``, ``https://``, ``//host``)."""
    return [m.group(0) for m in _ORIGIN_RE.finditer(html_text) if _looks_like_url(html_text, m)]


def _looks_like_url(text: str, m: re.Match) -> bool:
    # "//" also starts JavaScript comments; a protocol-relative URL only counts inside a quote,
    # url(...) or an attribute.
    if m.group(0).lower().startswith(("http:", "https:")):
        return True
    before = text[max(0, m.start() - 5):m.start()]
    return bool(re.search(r"""(?:["'(=]\s*)$""", before))


def _same_origin(url: str, origin: str) -> bool:
    parts = urlsplit(url if not url.startswith("//") else "https:" + url)
    o = urlsplit(origin)
    return parts.scheme == o.scheme and parts.netloc == o.netloc


def _sha256(script: str) -> str:
    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
