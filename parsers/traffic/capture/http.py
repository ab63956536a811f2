"""HTTP/1.x message heads: a request's method, path and Host; a response's status and Location."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE ")
# First payload bytes that may start a request or a response: the only TCP payloads worth a closer look.
FIRST_BYTES = frozenset(m[0] for m in METHODS) | {ord("H")}
# A message head bigger than this is not something a registry client sends; stop buffering there.
MAX_HEAD_BYTES = 16 * 1024
MAX_KEPT_TEXT = 512


@dataclass(slots=True)
class Request:
    method: str
    path: str
    host: str | None  # the Host header as sent (may carry a port)


@dataclass(slots=True)
class Response:
    status: int
    location: str | None


def starts_message(payload: bytes) -> bool:
    return payload.startswith(b"HTTP/1.") or payload.startswith(METHODS)


def head_complete(data: bytes) -> bool:
    return b"\r\n\r\n" in data or b"\n\n" in data


def head_lines(data: bytes) -> list[str]:
    """The lines of the head at the start of DATA (all of DATA when no blank line ends it)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        end = data.find(b"\n\n")
    head = data if end < 0 else data[:end]
    return head.decode("latin-1").splitlines()


def _header(lines: list[str], name: str) -> str | None:
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name:
            return value.strip()
    return None


def parse_request(lines: list[str]) -> Request | None:
    """The request whose head_lines are LINES."""
    parts = lines[0].split(" ") if lines else []
    if len(parts) < 2 or (len(parts) >= 3 and not parts[2].startswith("HTTP/")):
        return None
    host = _header(lines, "host")
    # Kept per connection until the response: bounded so hostile heads cannot grow the queues.
    return Request(method=parts[0][:16], path=parts[1][:MAX_KEPT_TEXT], host=host[:MAX_KEPT_TEXT] if host else None)


def parse_response(lines: list[str]) -> Response | None:
    """The response whose head_lines are LINES."""
    parts = lines[0].split(" ", 2) if lines else []
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not _is_number(parts[1]) or len(parts[1]) != 3:
        return None
    location = _header(lines, "location")
    return Response(status=int(parts[1]), location=location[:4 * MAX_KEPT_TEXT] if location else None)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone accepts superscripts that int() refuses


def host_without_port(host: str) -> str:
    host = host.strip()
    if host.startswith("["):  # [v6]:port
        return host[1:host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".").lower()


def location_host(location: str, request_host: str | None) -> str | None:
    """The host a Location sends the client to; a relative Location stays on the request's host."""
    try:
        parts = urlsplit(location.strip())
    except ValueError:
        return None
    if parts.hostname:
        return parts.hostname.rstrip(".").lower()
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    return host_without_port(request_host) if request_host else None


def next_message(data: bytes, lines: list[str]) -> bytes | None:
    """What follows the head (LINES, its head_lines) and a Content-Length body at the start of DATA, if it
    starts another message."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    length = _header(lines, "content-length")
    rest = data[end + 4 + (int(length) if length and _is_number(length) else 0):]
    return rest if starts_message(rest) else None
