"""squid.target_of's shortcut for plain `http(s)://host/path` URLs gives exactly what urlsplit gives."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.logs import squid


def _by_urlsplit(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", ""
    return parts.hostname or "", parts.path or "/"


_PIECES = st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "Registry-1.Docker.IO", "ghcr.io", ":443",
                           ":", "@", "user:pw@", "[::1]", "[", "]", "%25eth0", "/v2/", "blobs/sha256:ab", "?", "#",
                           "?a=/b#c", "#x?y", "//", "/", "\\", "\x01", "\u00e9", "\x7f", " ", "a", "0"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=8).map("".join))
def test_the_shortcut_agrees_with_urlsplit(url: str) -> None:
    if "://" in url:
        assert squid.target_of("GET", url) == _by_urlsplit(url)


def test_the_shortcut_takes_the_usual_urls_and_leaves_the_rest() -> None:
    usual = squid._plain_target("https://Reg.Example:5000/v2/a/blobs/sha256:1?x=/y#z")
    assert usual == ("reg.example", "/v2/a/blobs/sha256:1")
    assert squid._plain_target("http://reg.example") == ("reg.example", "/")
    for odd in ("https://u@reg.example/", "https://[::1]:5000/v2/", "https://h%25zone/", "ftp://h/",
                "HTTPS://h/", "https://h\x01/", "https://h\u00e9/"):
        assert squid._plain_target(odd) is None, odd
