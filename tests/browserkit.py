"""The one way the browser tests drive Chromium: Debian's ``chromium``, headless, through Playwright.

``browser`` (tests/conftest.py) is one Chromium per test process; each test opens its own context
(cookies and storage of its own). :func:`watch` records every request to another origin, every
console error, page error and dialog, so a test can assert a page is offline and quiet.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LEAFLET = Path(__file__).resolve().parents[1] / "api" / "static" / "vendor" / "leaflet"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None (CI turns a reason into a failure)."""
    if not os.path.exists(CHROMIUM):
        return "Debian chromium is not installed (scripts/setup.sh --test installs it)"
    if not LEAFLET.exists():
        return "Leaflet is not vendored (scripts/vendor_static.sh)"
    try:
        import playwright  # noqa: F401  (only whether it imports)
    except ImportError:
        return "playwright (Python package) is not installed"
    return None


def login(browser, base: str, token: str):
    """A fresh context, logged in on the form with ``token``; returns (context, page)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return context, page


def watch(page, base: str) -> tuple[list[str], list[str]]:
    """Start recording problems (other origins, console and page errors) and dialogs on ``page``."""
    problems: list[str] = []
    dialogs: list[str] = []
    origin = urlsplit(base)

    def on_request(req):
        u = urlsplit(req.url)
        if u.scheme in ("data", "blob", "about"):
            return
        if (u.hostname, u.port) != (origin.hostname, origin.port):
            problems.append(f"request to another origin: {req.url}")

    page.on("request", on_request)
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return problems, dialogs


def settle(page) -> None:
    """Wait on events, not a clock: the page loaded, then two rendered frames, so every load,
    hover and tooltip handler (and any alert() a hostile value could trigger) has run."""
    page.wait_for_load_state("load", timeout=30_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
