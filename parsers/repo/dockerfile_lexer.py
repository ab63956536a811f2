"""Dockerfile lexing as BuildKit does it: parser directives, line continuations, comments, heredocs, flags, words.

Follows moby/buildkit frontend/dockerfile/parser (parser.go, directives.go, line_parsers.go) and shell/lex.go:
- lines end at `\\n` only (a lone `\\r` is not a line break); trailing `\\r`/`\\n` are trimmed; a UTF-8 BOM on
  the first line is dropped;
- parser directives (`# escape=`, `# syntax=`, `# check=`) are read only until the first line that is not one:
  a blank line, any other comment, or an instruction ends them; a repeated directive is an error;
- a line ending in the escape character (optionally followed by blanks) continues on the next line; comment
  lines and empty lines inside a continuation are skipped;
- after a RUN/COPY/ADD instruction (also under ONBUILD, not in JSON form) each `<<WORD` starts a heredoc whose
  body lines are raw text up to the terminator: they are never instructions.
BuildKit refuses lines over 64 KiB; here such a line is reported and skipped, and reading goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from auditor.core import safe_json

# bufio.MaxScanTokenSize - 1: BuildKit's "dockerfile line greater than max allowed size of 65535".
MAX_LINE_BYTES = 64 * 1024 - 1
# A logical instruction joined from continuation lines; nothing real comes near this.
MAX_INSTRUCTION_CHARS = 1024 * 1024

_WHITESPACE_RE = re.compile(r"[\t\v\f\r ]+")
_DIRECTIVE_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(\S(?:.*\S)?)\s*$")  # no lazy `.+?` before `\s*$`
_VALID_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_HEREDOC_RE = re.compile(r"^(\d*)<<(-?)\s*([^<]*)$", re.DOTALL)
_HEREDOC_COMMANDS = frozenset({"add", "copy", "run"})


@dataclass
class RawLine:
    """One physical line: its 1-based number and text (newline kept off), or why it could not be read."""

    number: int
    text: str
    error: str | None = None


@dataclass
class Instruction:
    """One logical instruction: command (lower case), flags, the rest, and the lines it spans."""

    line: int
    end_line: int
    command: str
    flags: list[str]
    args: str
    original: str
    heredoc_names: list[str] = field(default_factory=list)

    def json_args(self) -> list[str] | None:
        """The arguments in JSON (exec) form, or None when they are not a JSON string array."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            value = safe_json.loads(text)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        return None

    def words(self) -> list[str]:
        """The arguments split on whitespace (parseStringsWhitespaceDelimited)."""
        text = self.args.strip()
        return _WHITESPACE_RE.split(text) if text else []


@dataclass
class Problem:
    line: int
    message: str


@dataclass
class LexResult:
    escape: str = "\\"
    syntax: str | None = None
    syntax_line: int | None = None
    problems: list[Problem] = field(default_factory=list)


def lines_from_text(text: str) -> Iterator[RawLine]:
    if text.startswith("\ufeff"):
        text = text[1:]
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE_BYTES and len(line.encode("utf-8")) > MAX_LINE_BYTES + 1:
            yield RawLine(number, "", f"line is {len(line.encode('utf-8'))} bytes, over BuildKit's "
                                      f"{MAX_LINE_BYTES} byte limit; line skipped")
            continue
        yield RawLine(number, line.rstrip("\r\n"))


def lines_from_stream(stream: BinaryIO, advance: Callable[[int], None] | None = None) -> Iterator[RawLine]:
    """Physical lines of a binary stream, decoded as UTF-8, each at most MAX_LINE_BYTES.

    An over-long line is drained without being held in memory and reported; undecodable bytes become U+FFFD
    and are reported once per line.
    """
    number = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES + 2)
        if not chunk:
            return
        number += 1
        if advance is not None:
            advance(len(chunk))
        if len(chunk) > MAX_LINE_BYTES + 1:  # content plus its newline over the limit
            total = len(chunk)
            while not chunk.endswith(b"\n"):
                chunk = stream.readline(1024 * 1024)
                if not chunk:
                    break
                total += len(chunk)
                if advance is not None:
                    advance(len(chunk))
            yield RawLine(number, "", f"line is {total} bytes, over BuildKit's {MAX_LINE_BYTES} byte limit; "
                                     "line skipped")
            continue
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        chunk = chunk.rstrip(b"\r\n")
        try:
            yield RawLine(number, chunk.decode("utf-8"))
        except UnicodeDecodeError:
            yield RawLine(number, chunk.decode("utf-8", errors="replace"),
                          "undecodable bytes (not UTF-8) replaced with U+FFFD")


def _continuation_re(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    return re.compile(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$")


def _is_comment(text: str) -> bool:
    return text.lstrip().startswith("#")


class _DirectiveParser:
    """directives.go DirectiveParser: `<prefix> name=value` lines until the first other line."""

    def __init__(self, prefix: str = "#") -> None:
        self.prefix = prefix
        self.done = False
        self.seen: set[str] = set()

    def parse(self, line: str) -> tuple[str, str] | None:
        """(name, value) for a directive line; None otherwise. Raises ValueError for a repeated directive."""
        if self.done:
            return None
        if not line.startswith(self.prefix):
            self.done = True
            return None
        match = _DIRECTIVE_RE.match(line[len(self.prefix):].lstrip())
        if match is None or match.group(1).lower() not in _VALID_DIRECTIVES:
            self.done = True
            return None
        name = match.group(1).lower()
        if name in self.seen:
            self.done = True
            raise ValueError(f"only one {name} parser directive can be used")
        self.seen.add(name)
        return name, match.group(2)


def detect_syntax(first_lines: list[RawLine]) -> tuple[str, int] | None:
    """The frontend image a `# syntax=` (or `// syntax=`) directive names, and its line (DetectSyntax).

    A leading `#!` line is skipped; unlike the escape directive, leading whitespace is not allowed here.
    """
    lines = list(first_lines)
    if lines and lines[0].text.startswith("#!"):
        lines = lines[1:]
    for prefix in ("#", "//"):
        parser = _DirectiveParser(prefix)
        for raw in lines:
            try:
                found = parser.parse(raw.text)
            except ValueError:
                break
            if parser.done:
                break
            if found and found[0] == "syntax":
                return found[1].split(" ", 1)[0], raw.number
    return None


def split_command(line: str) -> tuple[str, list[str], str]:
    """splitCommand: (command in lower case, builder flags, the rest)."""
    parts = _WHITESPACE_RE.split(line.strip(), maxsplit=1)
    command = parts[0].lower()
    rest = parts[1] if len(parts) > 1 else ""
    rest, flags = extract_builder_flags(rest)
    return command, flags, rest


def extract_builder_flags(line: str) -> tuple[str, list[str]]:
    """line_parsers.go extractBuilderFlags: leading `--flag[=value]` words, quotes and backslashes resolved."""
    words: list[str] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    word = ""
    quote = ""
    blank_ok = False
    pos = 0
    n = len(line)
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words
            phase = in_word
        if pos == n:
            if word != "--" and (blank_ok or word):
                words.append(word)
            break
        if phase == in_word:
            if ch.isspace():
                phase = in_spaces
                if word == "--":
                    return line[pos:], words
                if blank_ok or word:
                    words.append(word)
                word = ""
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word += ch
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        word += ch
        pos += 1
    return "", words


def _raw_words(line: str) -> list[str]:
    """shell.Lex ProcessWords with RawQuotes and RawEscapes: whitespace-split words, quotes kept.

    `<<` swallows the blanks after it, so `<<  EOF` stays one word (processPossibleHeredoc).
    """
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch in " \t\r\n":
            if in_word:
                words.append("".join(word))
                word = []
                in_word = False
            i += 1
            continue
        in_word = True
        if ch == "\\" and i + 1 < n:
            word.append(line[i:i + 2])
            i += 2
            continue
        if ch in ("'", '"'):
            close = i + 1
            while close < n and line[close] != ch:
                close += 2 if (ch == '"' and line[close] == "\\") else 1
            word.append(line[i:close + 1])
            i = close + 1
            continue
        if ch == "<" and line.startswith("<<", i):
            i += 2
            while i < n and line[i] in " \t":
                i += 1
            word.append("<<")
            continue
        word.append(ch)
        i += 1
    if in_word:
        words.append("".join(word))
    return words


def _unquote_word(text: str) -> list[str]:
    """Words of TEXT with quotes removed (ProcessWords without RawQuotes), no variable expansion."""
    words: list[str] = []
    for raw in _raw_words(text):
        out: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                out.append(raw[i + 1])
                i += 2
            elif ch in ("'", '"'):
                close = raw.find(ch, i + 1)
                close = len(raw) if close < 0 else close
                out.append(raw[i + 1:close])
                i = close + 1
            else:
                out.append(ch)
                i += 1
        words.append("".join(out))
    return words


@dataclass(frozen=True)
class Heredoc:
    name: str
    chomp: bool


def heredocs_from_line(line: str) -> list[Heredoc]:
    docs: list[Heredoc] = []
    for word in _raw_words(line):
        match = _HEREDOC_RE.match(word)
        if match is None or not match.group(3):
            continue
        names = _unquote_word(match.group(3))
        if len(names) != 1:
            continue
        docs.append(Heredoc(names[0], match.group(2) == "-"))
    return docs


def _can_contain_heredoc(command: str, flags: list[str], args: str) -> bool:
    if command == "onbuild":
        command, flags, args = split_command(args)
    if command not in _HEREDOC_COMMANDS:
        return False
    inst = Instruction(0, 0, command, flags, args, "")
    return inst.json_args() is None


def instructions(lines: Iterator[RawLine], result: LexResult) -> Iterator[Instruction]:
    """Logical instructions of a Dockerfile; directives and problems are recorded in RESULT as found."""
    directives = _DirectiveParser("#")
    continuation = _continuation_re("\\")
    header: list[RawLine] = []  # the leading comment lines, where a syntax directive may be
    in_header = True
    lines = iter(lines)
    for raw in lines:
        if raw.error:
            result.problems.append(Problem(raw.number, raw.error))
            if raw.text == "":
                in_header = False
                continue
        if in_header:
            header.append(raw)
            in_header = raw.text.startswith(("#", "//")) and len(header) < 64
        text = raw.text.lstrip()
        try:
            found = directives.parse(text)
        except ValueError as exc:
            result.problems.append(Problem(raw.number, str(exc)))
            found = None
        if found is not None:
            name, value = found
            if name == "escape":
                if value in ("`", "\\"):
                    result.escape = value
                    continuation = _continuation_re(value)
                else:
                    result.problems.append(Problem(raw.number, f"invalid escape token '{value}' does not match "
                                                               "` or \\; the default \\ is used"))
            continue
        if _is_comment(text):
            continue
        start = raw.number
        joined, more = _trim_continuation(text, continuation)
        if not more and joined == "":
            continue
        parts = [joined]
        size = len(joined)
        end = start
        too_long = False
        while more:
            nxt = next(lines, None)
            if nxt is None:
                break
            end = nxt.number
            if nxt.error:
                result.problems.append(Problem(nxt.number, nxt.error))
            if _is_comment(nxt.text):
                continue
            if nxt.text.strip() == "":
                continue
            piece, more = _trim_continuation(nxt.text, continuation)
            size += len(piece)
            if size > MAX_INSTRUCTION_CHARS:
                too_long = True
                continue
            parts.append(piece)
        if too_long:
            result.problems.append(Problem(start, f"instruction spanning lines {start}-{end} is over "
                                                  f"{MAX_INSTRUCTION_CHARS} characters; skipped"))
            continue
        line = "".join(parts)
        command, flags, args = split_command(line)
        inst = Instruction(start, end, command, flags, args, line)
        if "<<" in line and _can_contain_heredoc(command, flags, args):
            for doc in heredocs_from_line(line):
                inst.heredoc_names.append(doc.name)
                terminated = False
                for body in lines:
                    inst.end_line = body.number
                    if body.error:
                        result.problems.append(Problem(body.number, body.error))
                    candidate = body.text.lstrip("\t") if doc.chomp else body.text
                    if candidate == doc.name:
                        terminated = True
                        break
                if not terminated:
                    result.problems.append(Problem(start, f"unterminated heredoc <<{doc.name} (BuildKit refuses "
                                                          "the file); every line after it was read as its body"))
                    break
        yield inst
    found_syntax = detect_syntax(header)
    if found_syntax is not None:
        result.syntax, result.syntax_line = found_syntax


def _trim_continuation(line: str, pattern: re.Pattern[str]) -> tuple[str, bool]:
    if pattern.search(line):
        return pattern.sub(lambda m: m.group(1) or "", line, count=1), True
    return line, False
