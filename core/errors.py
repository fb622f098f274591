"""Errors that reach a user as a clear message instead of a traceback."""

from __future__ import annotations


class VeiligError(Exception):
    """A refusal the user can act on; the message is shown as is (CLI) or as JSON ``detail`` (HTTP)."""

    status_code: int = 400


class NotFoundError(VeiligError):
    status_code = 404


class ConflictError(VeiligError):
    status_code = 409


class TooLargeError(VeiligError):
    """A request or file over a configured limit (size, rows, analysis cost)."""

    status_code = 413
