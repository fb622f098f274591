"""Reading a multipart upload from the raw request stream, after authentication, within limits.

FastAPI parses a ``File(...)``/``Form(...)`` body before any dependency runs: a 1 GB upload
without a token would be spooled to disk before the 401. The upload route therefore declares no
body parameters; it authenticates first (headers only) and then reads the stream itself with
this parser, which

- refuses at once a declared ``Content-Length`` over the limit (413), and counts the bytes while
  streaming when there is none (chunked transfer), stopping at the limit;
- keeps small text fields in memory (at most ``MAX_FIELDS`` of ``MAX_FIELD_BYTES`` each);
- calls ``before_file(fields)`` when the file part's headers arrive and before a byte of it is
  written: the CSRF token of a cookie-authenticated form (the ``csrf_token`` field placed before
  the file field) is checked there;
- writes the one file part to ``dest`` (a server-chosen name, never the client's) and counts its
  newlines, so a CSV's row limit is known without reading it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException, Request

try:  # python-multipart >= 0.0.13 renamed its module
    from python_multipart.multipart import MultipartParser, parse_options_header
except ImportError:  # pragma: no cover - older python-multipart
    from multipart.multipart import MultipartParser, parse_options_header

MAX_FIELDS = 20
MAX_FIELD_BYTES = 4096
#: Bytes of multipart framing (boundaries, part headers) allowed beyond the file limit.
OVERHEAD = 64 * 1024


@dataclass
class StreamedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0
    newlines: int = 0


def too_large(limit: int) -> HTTPException:
    return HTTPException(status_code=413, detail=(
        f"upload groter dan de limiet van {limit // (1024 * 1024) or 1} MB (VEILIG_MAX_UPLOAD_BYTES)"))


def check_declared_length(request: Request, limit: int) -> None:
    """413 before reading anything when ``Content-Length`` already says the body is too large."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            n = int(declared)
        except ValueError:
            raise HTTPException(status_code=400, detail="ongeldige Content-Length") from None
        if n > limit + OVERHEAD:
            raise too_large(limit)


async def read_multipart(
    request: Request,
    dest: Path,
    limit: int,
    before_file: Callable[[dict[str, str]], None] | None = None,
    file_field: str = "file",
) -> StreamedUpload:
    """Stream the multipart body of ``request`` into ``dest``; see the module docstring."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise HTTPException(status_code=400, detail="verwacht multipart/form-data met een bestand in het veld 'file'")
    check_declared_length(request, limit)
    out = StreamedUpload()
    events: list[tuple[str, bytes]] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        events.append(("header", bytes(header_field) + b"\x00" + bytes(header_value)))
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", bytes(data[start:end])))

    parser = MultipartParser(params[b"boundary"], callbacks={
        "on_part_begin": lambda: events.append(("begin", b"")),
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": lambda: events.append(("headers", b"")),
        "on_part_data": on_part_data,
        "on_part_end": lambda: events.append(("end", b"")),
    })
    total = 0
    part_name: str | None = None
    part_file: str | None = None
    is_file = False
    value = bytearray()
    seen_file = False
    fh = None
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit + OVERHEAD:
                raise too_large(limit)
            try:
                parser.write(chunk)
            except Exception as exc:  # python-multipart raises its own errors for broken framing
                raise HTTPException(status_code=400, detail="onleesbaar multipart-formulier") from exc
            for kind, data in events:
                if kind == "begin":
                    part_name, part_file, is_file = None, None, False
                    value.clear()
                elif kind == "header":
                    name, _, raw = data.partition(b"\x00")
                    if name.lower() == b"content-disposition":
                        _, disp = parse_options_header(raw)
                        part_name = disp.get(b"name", b"").decode("utf-8", "replace")
                        if b"filename" in disp:
                            part_file = disp[b"filename"].decode("utf-8", "replace")
                elif kind == "headers":
                    is_file = part_file is not None
                    if is_file:
                        if part_name != file_field or seen_file:
                            raise HTTPException(status_code=400, detail=(
                                f"precies één bestand, in het veld '{file_field}'"))
                        seen_file = True
                        if before_file is not None:
                            before_file(out.fields)
                        out.filename = part_file
                        fh = open(dest, "wb")
                    elif len(out.fields) >= MAX_FIELDS:
                        raise HTTPException(status_code=400, detail="te veel formuliervelden")
                elif kind == "data":
                    if is_file:
                        out.size += len(data)
                        if out.size > limit:
                            raise too_large(limit)
                        out.newlines += data.count(b"\n")
                        fh.write(data)
                    else:
                        value.extend(data)
                        if len(value) > MAX_FIELD_BYTES:
                            raise HTTPException(status_code=400, detail=f"formulierveld '{part_name}' is te lang")
                elif kind == "end":
                    if is_file:
                        fh.close()
                        fh = None
                    elif part_name is not None:
                        try:
                            out.fields[part_name] = value.decode("utf-8")
                        except UnicodeDecodeError:
                            raise HTTPException(status_code=400, detail=(
                                f"formulierveld '{part_name}' is geen UTF-8")) from None
            events.clear()
        parser.finalize()
    finally:
        if fh is not None:
            fh.close()
    if not seen_file:
        if before_file is not None:
            before_file(out.fields)
        raise HTTPException(status_code=400, detail=f"geen bestand in het veld '{file_field}'")
    return out
