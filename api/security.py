"""Content-Security-Policy for every response: no inline script unless the page names it by hash.

The header policy (``base_policy``) allows scripts from this origin only. A browser enforces
*every* policy it gets, header and ``<meta>`` alike, so a page with inline scripts (the Folium
maps, whose ``<meta>`` CSP lists their hashes, see ``maps/policy.finish_page``; Swagger UI's init
script on ``/docs``) gets a header policy that names the same hashes (:func:`policy_for_html`).
"""

from __future__ import annotations

import base64
import hashlib
import re

_META_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def base_policy(tile_origin: str | None, script_hashes: tuple[str, ...] = ()) -> str:
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    tiles = f" {tile_origin}" if tile_origin else ""
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:{tiles}; connect-src 'self'; font-src 'self'; object-src 'none'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def script_hashes(html: str) -> tuple[str, ...]:
    """Base64 SHA-256 of each inline script's text, as CSP wants them."""
    return tuple(sorted({base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii")
                         for s in _INLINE_SCRIPT.findall(html)}))


def policy_for_html(html: str, tile_origin: str | None) -> str:
    """The header policy for a page: its own ``<meta>`` policy when it has one (plus what only a
    header can say), else the base policy with the hashes of its inline scripts."""
    meta = _META_CSP.search(html[:20000])
    if meta:
        policy = meta.group(1).strip().rstrip(";")
        if "frame-ancestors" not in policy:
            policy += "; frame-ancestors 'none'"
        return policy
    return base_policy(tile_origin, script_hashes(html))
