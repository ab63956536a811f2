"""Mutations for the fuzzing campaign: byte-level noise plus the shapes that have broken parsers before.

The dictionary holds what the first campaign found (out-of-range timestamps, deep nesting, huge numbers,
backtracking bait, template braces) so the mutation engine tries them often, not by luck.
"""

from __future__ import annotations

import random

MAX_OUTPUT = 1024 * 1024  # the campaign's inputs stay under 1 MB (what a hang is measured against)

TOKENS: tuple[bytes, ...] = (
    b"1e29", b"1e300", b"nan", b"inf", b"-inf", b"-1", b"0", b"4294967295", b"18446744073709551616",
    b"9" * 5000, b"-" + b"9" * 400, b"0x7fffffff", b"\xff\xff\xff\x7f", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf",
    b"[" * 3000, b"{" * 3000, b'{"a":' * 2000, b"- " * 2000, b"{{ " * 2000, b"}}" * 2000, b"{{" + b" " * 5000,
    b"&a [*a,*a,*a,*a]", b"*a", b"!!python/object:os.system", b"${" * 500, b"$(" * 500,
    b"\t" * 4000, b" " * 20000, b"." * 5000, b"a." * 3000, b"\\" * 3000, b'"' * 3000, b"#" * 100,
    b"\r\n", b"\n\n\n", b"\r", b"\xe2\x80\xa8", b"A" * 70000,
    b"docker.io/library/nginx:latest", b"registry-1.docker.io", b"0.0.0.0/0", b"1.2.3.4/8",
    b"https://user:pw@ghcr.io/path?q=1", b"300.1.1.1", b"*.", b"..", b"xn--", b"xn--zz",
    b"is <CNAME>", b"query[A] ", b" IN CNAME ", b"ts", b"-", b"(empty)", b"\x1f\x8b\x08\x00",
)


def _spot(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1) if data else 0


def _line_start(data: bytes, rng: random.Random) -> int:
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    return rng.choice(starts)


def _repeats(size: int, most: int, rng: random.Random) -> int:
    return rng.randint(1, max(1, min(most, MAX_OUTPUT // max(1, size))))


def mutate(data: bytes, other: bytes, rng: random.Random) -> bytes:
    """One to four stacked mutations of DATA (OTHER is another seed, for splicing), cut to MAX_OUTPUT."""
    for _ in range(rng.randint(1, 4)):
        data = _one(data, other, rng)[:MAX_OUTPUT]
    return data


def _one(data: bytes, other: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(10)
    at = _spot(data, rng)
    if choice == 0 and data:  # flip bits
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        return bytes(buf)
    if choice == 1:  # random bytes
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[at:]
    if choice == 2 and data:  # delete a chunk
        end = min(len(data), at + rng.randint(1, 256))
        return data[:at] + data[end:]
    if choice == 3 and data:  # duplicate a chunk
        end = min(len(data), at + rng.randint(1, 512))
        return data[:end] + data[at:end] * _repeats(end - at, 8, rng) + data[end:]
    if choice == 4 and other:  # splice another seed
        cut = _spot(other, rng)
        return data[:at] + other[cut:cut + rng.randint(1, 4096)]
    if choice in (5, 6):  # a known-hostile token where a value would be
        return data[:at] + rng.choice(TOKENS) + data[at:]
    if choice == 7 and data:  # replace a number with a hostile one
        digits = [i for i, b in enumerate(data) if 0x30 <= b <= 0x39]
        if digits:
            i = rng.choice(digits)
            j = i
            while j < len(data) and (0x30 <= data[j] <= 0x39 or data[j] == 0x2E):
                j += 1
            return data[:i] + rng.choice(TOKENS[:10]) + data[j:]
    if choice == 8 and data:  # repeat one line many times, or make it very long
        start = _line_start(data, rng)
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        line = data[start:end]
        if rng.random() < 0.5:
            return data[:start] + line * _repeats(len(line), 2000, rng) + data[end:]
        return data[:start] + line.rstrip(b"\n") * _repeats(len(line), 200, rng) + b"\n" + data[end:]
    if choice == 9 and data:  # truncate
        return data[:at]
    return data + rng.choice(TOKENS)
