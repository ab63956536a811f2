"""A malformed DNS message keeps its error, not the traceback whose frames hold the packet's read buffer."""

from __future__ import annotations

import gc
import struct
import tracemalloc

from parsers.traffic.capture import dns


def _malformed(padding: int) -> bytes:
    """A response whose one answer claims more data than the message holds, then PADDING junk bytes the
    answer's length field runs past: the shape of a snapped or corrupt capture packet."""
    header = struct.pack("!6H", 0x1234, 0x8180, 1, 1, 0, 0)
    question = b"\x08registry\x06docker\x02io\x00" + struct.pack("!HH", 1, 1)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 0xFFFF)
    return header + question + answer + b"\x00" * padding


def test_the_error_holds_no_traceback() -> None:
    message = dns.decode(_malformed(10))
    assert message.error is not None and message.error.truncated
    assert message.questions == [("registry.docker.io", 1)]
    assert message.error.__traceback__ is None


def test_kept_messages_do_not_keep_their_buffers_alive() -> None:
    """With the collector off (as the relaxed thresholds of bulk parsing nearly are), 400 kept messages
    decoded from 64 KiB buffers hold a few hundred bytes each, not the 25 MB of buffers."""
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [dns.decode(_malformed(64 * 1024)) for _ in range(400)]
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
    assert all(m.error is not None for m in kept)
    assert grown < 2_000_000, f"{grown:,} bytes held by 400 decoded messages"
