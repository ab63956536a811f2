"""Reading a configuration file whose NUL bytes should not hide the rest of it."""

from __future__ import annotations

from auditor.model import InputError
from parsers._io import MAX_CONFIG_BYTES, InputFile, decode_text, read_config_text


def read_text_keeping_binary(inp: InputFile, parser: str) -> tuple[str | None, list[InputError]]:
    """The file as text. Unlike read_config_text, NUL bytes do not refuse the whole file: the parser meets the
    junk where it is (and names that line), and everything else is still read."""
    if not inp.looks_binary:
        return read_config_text(inp, parser)
    with inp.open() as stream:
        data = stream.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        return None, [inp.error(
            f"content over the {MAX_CONFIG_BYTES} byte limit for a {parser} file; skipped", parser=parser)]
    text, _had_errors = decode_text(data)
    first = next(i for i, ch in enumerate(text) if ch == "\x00")
    line = text.count("\n", 0, first) + 1
    return text, [inp.error("binary content (NUL bytes) from this line; the readable rest is still used",
                            line=line, parser=parser)]
