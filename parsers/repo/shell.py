"""Shell scripts, and the container-CLI extractor every CI parser uses for its `run:`/`script:` lines.

The extractor tokenizes POSIX-shell text (quotes, escapes, line continuations, `;`/`&&`/`||`/`|`, comments,
here-documents), follows simple assignments (`IMAGE=x`, `export IMAGE=x`), and recognizes the commands of the
container CLIs (`docker`, `podman`, `nerdctl`, `buildah`, `skopeo`, behind `sudo`/`env`/`exec`) that name an
image or a registry: pull, push, run, create, tag, build/buildx -t, login, manifest, imagetools; and the
registry logins `gcloud auth configure-docker HOSTS` and `az acr login --name NAME` set up.
Nothing is executed. A word whose value depends on something unknown (an unset variable, `$(...)`, a CI
expression the caller marks opaque) becomes `Unresolved`, never a guess.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from auditor.core.model import Evidence, HostPurpose, HostReference, InputError, Source, Unresolved
from auditor.core.reference import InvalidReference, normalize_registry_host, parse_reference
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.interpolate import Lookup, interpolate

NAME = "shell"

_SHEBANG_RE = re.compile(rb"^#![ \t]*(?:/usr)?/bin/(?:env[ \t]+(?:-S[ \t]+)?)?(?:ba|z|k|da)?sh\b")
_SUFFIXES = (".sh", ".bash", ".zsh", ".ksh")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ASSIGN_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_SIMPLE_BRACED_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?::?[-+?=].*)?$", re.DOTALL)
# `${{ ... }}` is never valid shell; CI systems (GitHub Actions, Gitea, Forgejo) substitute it before the shell runs.
_CI_EXPRESSION_RE = re.compile(r"\$\{\{(?:(?!\$\{\{|\}\}).)*+\}\}", re.DOTALL)  # linear: no `${{` inside

# Characters with no special meaning in a word (outside quotes) and inside double quotes: consumed in runs.
# Opaque CI expressions start with `$` or `<` (`${{ }}`, `$(var)`, `$[ ]`, `<< x >>`), never inside a run.
_PLAIN_RUN_RE = re.compile(r"[^\s;&|()<>'\"\\$`]+")
_PLAIN_QUOTED_RE = re.compile(r"[^\"\\$`<]+")
_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "done", "fi"})
_LOOP_PLACEHOLDER_RE = re.compile(r"\x00([A-Za-z_][A-Za-z0-9_]*)\x00")
_MAX_LOOP_VALUES = 64
_MAX_SUBSTITUTION_DEPTH = 8
_PROGRAMS_RE = re.compile(r"docker|podman|nerdctl|finch|buildah|skopeo|gcloud|\baz\b")
_OPERATORS = ("&&", "||", ";;", "|&", ";", "|", "&", "(", ")")


def detect(inp: InputFile) -> bool:
    if inp.looks_binary:
        return False
    name = inp.name.lower()
    return name.endswith(_SUFFIXES) or bool(_SHEBANG_RE.match(inp.head))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    lookup = dict(ctx.variables)
    yield from scan_script(text, 1, lambda line: inp.source(line=line, parser=NAME), lookup.get)


# ---------------------------------------------------------------------------------------------- tokenizer


@dataclass
class Word:
    """One shell word after quote removal; `missing` lists what could not be expanded."""

    text: str = ""
    raw: str = ""
    line: int = 0
    missing: list[str] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return not self.missing


@dataclass
class Command:
    words: list[Word]
    line: int


class _Tokenizer:
    """Splits shell text into simple commands of expanded words, keeping each word's line."""

    def __init__(self, text: str, first_line: int, lookup: Callable[[str], str | None],
                 opaque: re.Pattern[str] | None) -> None:
        self.text = text
        self.pos = 0
        self.line = first_line
        self.lookup = lookup
        self.opaque = opaque
        self.pending_heredocs: list[tuple[str, bool]] = []
        self.errors: list[tuple[str, int]] = []
        self.substitutions: list[tuple[str, int]] = []  # `$( )` and backquoted commands: scanned on their own

    def commands(self) -> Iterator[Command]:
        words: list[Word] = []
        while True:
            before = self.pos
            word, separator = self._next()
            if self.pos == before and self.pos < len(self.text):
                self.pos += 1  # never loop in place, whatever the input
            if word is not None:
                words.append(word)
            if separator is not None:
                if words:
                    yield Command(words, words[0].line)
                words = []
                if separator == "\n" and self.pending_heredocs:
                    self._skip_heredoc_bodies()
            if self.pos >= len(self.text) and word is None:
                if words:
                    yield Command(words, words[0].line)
                return

    # Returns (word, separator): one of them may be None; both None only at the end.
    def _next(self) -> tuple[Word | None, str | None]:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\" and text.startswith("\n", self.pos + 1):
                self.pos += 2
                self.line += 1
                continue
            if ch in " \t\r":
                self.pos += 1
                continue
            break
        if self.pos >= len(text):
            return None, None
        ch = text[self.pos]
        if ch == "\n":
            self.pos += 1
            self.line += 1
            return None, "\n"
        if ch == "#":
            end = text.find("\n", self.pos)
            self.pos = len(text) if end < 0 else end
            return None, None
        if ch in "$<" and self.opaque is not None and self.opaque.match(text, self.pos):
            return self._word(), None
        if text.startswith("<<", self.pos) and not text.startswith("<<<", self.pos):
            self._heredoc_operator()
            return None, None
        for op in _OPERATORS:
            if text.startswith(op, self.pos):
                self.pos += len(op)
                return None, op
        if ch in "<>":
            # A redirection's target is not a command argument.
            self.pos += 1
            while self.pos < len(text) and text[self.pos] in "<>&|":
                self.pos += 1
            self._word()
            return None, None
        return self._word(), None

    def _heredoc_operator(self) -> None:
        self.pos += 2
        strip_tabs = self.text.startswith("-", self.pos)
        if strip_tabs:
            self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        delimiter = self._word()
        if delimiter.text:
            self.pending_heredocs.append((delimiter.text, strip_tabs))

    def _skip_heredoc_bodies(self) -> None:
        for delimiter, strip_tabs in self.pending_heredocs:
            while self.pos < len(self.text):
                end = self.text.find("\n", self.pos)
                end = len(self.text) if end < 0 else end
                body_line = self.text[self.pos:end]
                self.pos = min(end + 1, len(self.text))
                self.line += 1
                if (body_line.lstrip("\t") if strip_tabs else body_line).rstrip("\r") == delimiter:
                    break
        self.pending_heredocs = []

    def _word(self) -> Word:
        text = self.text
        word = Word(line=self.line)
        out: list[str] = []
        start = self.pos
        while self.pos < len(text):
            plain = _PLAIN_RUN_RE.match(text, self.pos)
            if plain is not None:  # the common case: a run of ordinary characters
                out.append(plain.group(0))
                self.pos = plain.end()
                continue
            ch = text[self.pos]
            if ch in "$<" and self.opaque is not None and (match := self.opaque.match(text, self.pos)):
                out.append(match.group(0))
                word.missing.append(match.group(0))
                self._advance_to(match.end())
                continue
            if ch in " \t\r\n;&|()<>":
                break
            if ch == "\\":
                nxt = text[self.pos + 1:self.pos + 2]
                if nxt == "\n":
                    self._advance_to(self.pos + 2)
                    continue
                out.append(nxt)
                self._advance_to(self.pos + 2)
                continue
            if ch == "'":
                end = text.find("'", self.pos + 1)
                if end < 0:
                    self.errors.append(("unterminated ' quote: the rest of the script is one word", self.line))
                    end = len(text)
                out.append(text[self.pos + 1:end])
                self._advance_to(end + 1)
                continue
            if ch == '"':
                self._double_quoted(out, word)
                continue
            if ch == "$":
                out.append(self._dollar(word, quoted=False))
                continue
            if ch == "`":
                end = text.find("`", self.pos + 1)
                end = len(text) if end < 0 else end
                raw = text[self.pos:end + 1]
                self.substitutions.append((text[self.pos + 1:end], self.line))
                word.missing.append(raw)
                out.append(raw)
                self._advance_to(end + 1)
                continue
            out.append(ch)
            self.pos += 1
        word.text = "".join(out)
        word.raw = text[start:self.pos]
        return word

    def _advance_to(self, pos: int) -> None:
        pos = min(pos, len(self.text))
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos

    def _double_quoted(self, out: list[str], word: Word) -> None:
        text = self.text
        self._advance_to(self.pos + 1)
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == '"':
                self.pos += 1
                return
            plain = _PLAIN_QUOTED_RE.match(text, self.pos)
            if plain is not None:
                out.append(plain.group(0))
                self._advance_to(plain.end())
                continue
            if ch in "$<" and self.opaque is not None and (match := self.opaque.match(text, self.pos)):
                out.append(match.group(0))
                word.missing.append(match.group(0))
                self._advance_to(match.end())
                continue
            if ch == "\\" and text[self.pos + 1:self.pos + 2] in ('"', "\\", "$", "`", "\n"):
                nxt = text[self.pos + 1]
                if nxt != "\n":
                    out.append(nxt)
                self._advance_to(self.pos + 2)
                continue
            if ch == "$":
                out.append(self._dollar(word))
                continue
            if ch == "`":
                end = text.find("`", self.pos + 1)
                end = len(text) if end < 0 else end
                self.substitutions.append((text[self.pos + 1:end], self.line))
                word.missing.append(text[self.pos:end + 1])
                out.append(text[self.pos:end + 1])
                self._advance_to(end + 1)
                continue
            out.append(ch)
            self._advance_to(self.pos + 1)
        self.errors.append(('unterminated " quote: the rest of the script is one word', word.line))

    def _dollar(self, word: Word, quoted: bool = True) -> str:
        """Expand the `$...` at pos; unknown parts are recorded in word.missing and kept as written.
        Outside double quotes, the word of `${V:-word}` has its quotes removed, as a shell does."""
        text = self.text
        start = self.pos
        nxt = text[start + 1:start + 2]
        if text.startswith("${{", start):
            end = text.find("}}", start)
            end = len(text) if end < 0 else end + 2
            return self._opaque(word, start, end)
        if nxt == "{":
            end = _matching(text, start + 1, "{", "}")
            inner = text[start + 2:end - 1]
            if not quoted:
                inner = _unquote_operand(inner)
            if _SIMPLE_BRACED_RE.match(inner):
                result = interpolate("${" + inner + "}", self.lookup, dialect="shell")
                if result.complete:
                    self._advance_to(end)
                    return result.text
            return self._opaque(word, start, end)
        if nxt == "(":
            end = _matching(text, start + 1, "(", ")")
            if not text.startswith("((", start + 1):  # `$(( ))` is arithmetic, not a command
                self.substitutions.append((text[start + 2:end - 1], self.line))
            return self._opaque(word, start, end)
        if nxt and (nxt in "_" or nxt.isalpha()) and nxt.isascii():
            end = start + 1
            while end < len(text) and (text[end].isascii() and (text[end].isalnum() or text[end] == "_")):
                end += 1
            value = self.lookup(text[start + 1:end])
            if value is None:
                return self._opaque(word, start, end)
            self._advance_to(end)
            return value
        if nxt and (nxt.isdigit() or nxt in "@*#?$!-"):
            return self._opaque(word, start, start + 2)
        self.pos += 1
        return "$"

    def _opaque(self, word: Word, start: int, end: int) -> str:
        raw = self.text[start:end]
        word.missing.append(raw)
        self._advance_to(end)
        return raw


def _matching(text: str, open_pos: int, opener: str, closer: str) -> int:
    """Index just past the CLOSER matching the OPENER at OPEN_POS (or the end of TEXT). Quoted text is skipped
    whole, so a jq program (`$(jq -r '.[] | select(.a == ")")')`) or a quoted `)` does not end the match."""
    depth = 0
    pos = open_pos
    while pos < len(text):
        ch = text[pos]
        if ch == opener:
            depth += 1
        elif ch == closer:
            depth -= 1
            if depth == 0:
                return pos + 1
        elif ch == "\\":
            pos += 1
        elif ch == "'":
            end = text.find("'", pos + 1)
            pos = len(text) if end < 0 else end
        elif ch == '"':
            pos += 1
            while pos < len(text) and text[pos] != '"':
                pos += 2 if text[pos] == "\\" else 1
        pos += 1
    return len(text)


_OPERAND_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(:?[-+=?])(.*)$", re.DOTALL)
_QUOTED_PART_RE = re.compile(r"'([^']*)'|\"((?:[^\"\\]|\\.)*)\"")


def _unquote_operand(inner: str) -> str:
    """`V:-'latest'` -> `V:-latest`: the word after the operator loses its quotes (outside double quotes)."""
    match = _OPERAND_RE.match(inner)
    if match is None or not any(q in match.group(3) for q in "'\""):
        return inner
    operand = _QUOTED_PART_RE.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), match.group(3))
    return match.group(1) + match.group(2) + operand


# ---------------------------------------------------------------------------------------------- commands

# Options that take a value, per command family. Flags not listed are treated as booleans unless the
# command's table says every unknown flag takes a value (run/create, where booleans are the short list).
_RUN_BOOLEAN = frozenset({
    "-d", "--detach", "-i", "--interactive", "-t", "--tty", "--rm", "--privileged", "--init", "-P",
    "--publish-all", "--read-only", "--no-healthcheck", "--oom-kill-disable", "--help", "-q", "--quiet",
    "--disable-content-trust", "--use-api-socket", "--replace", "--rmi", "--env-host", "--no-hosts",
    "--passwd", "--sig-proxy", "--tls-verify", "--http-proxy", "--read-only-tmpfs", "--network-alias-auto",
})
_PULL_VALUED = frozenset({
    "--platform", "--creds", "--authfile", "--arch", "--os", "--variant", "--cert-dir", "--decryption-key",
    "--retry", "--retry-delay", "--policy", "--namespace", "-n", "--snapshotter", "--unpack",
})
_PUSH_VALUED = _PULL_VALUED | frozenset({
    "--format", "-f", "--digestfile", "--sign-by", "--sign-by-sigstore", "--compression-format",
    "--compression-level", "--encryption-key", "--sign-passphrase-file", "--signature-policy",
})
_LOGIN_VALUED = frozenset({
    "-u", "--username", "-p", "--password", "--authfile", "--cert-dir", "--get-login", "--secret",
    "--compat-auth-file",
})
_BUILD_VALUED = frozenset({
    "-t", "--tag", "-f", "--file", "--build-arg", "--label", "--target", "--platform", "--network",
    "--cache-from", "--cache-to", "--secret", "--ssh", "-o", "--output", "--progress", "--builder",
    "--iidfile", "--metadata-file", "--add-host", "--cgroup-parent", "--cpu-shares", "--cpuset-cpus",
    "--memory", "-m", "--memory-swap", "--shm-size", "--ulimit", "--isolation", "--build-context",
    "--allow", "--attest", "--annotation", "--sbom", "--provenance", "--call", "--check", "--format",
    "--authfile", "--creds", "--layers", "--jobs", "--manifest", "--os", "--arch", "--variant", "--squash-all",
    "--cpu-period", "--cpu-quota", "--security-opt", "--volume", "-v", "--env", "-e", "--from",
})
_GLOBAL_VALUED = frozenset({
    "-H", "--host", "--config", "-c", "--context", "-l", "--log-level", "--tlscacert", "--tlscert", "--tlskey",
    "--connection", "--url", "--identity", "--root", "--runroot", "--storage-driver", "--storage-opt",
    "--cgroup-manager", "--namespace", "-n", "--address", "-a", "--snapshotter", "--cni-path", "--data-root",
    "--registry-config", "--events-backend", "--hooks-dir", "--module", "--network-cmd-path", "--runtime",
    "--tmpdir", "--ssh",
})
_SUBCOMMAND_ALIASES = {
    ("image", "pull"): "pull", ("image", "push"): "push", ("image", "tag"): "tag",
    ("image", "build"): "build", ("container", "run"): "run", ("container", "create"): "create",
    ("buildx", "build"): "build", ("builder", "build"): "build", ("buildx", "b"): "build",
    ("image", "inspect"): None, ("manifest", "inspect"): "manifest-inspect",
    ("manifest", "create"): "manifest-create", ("manifest", "push"): "manifest-push",
}
_CONTAINER_CLIS = frozenset({"docker", "podman", "nerdctl", "finch"})
_PREFIX_PROGRAMS = frozenset({"sudo", "env", "exec", "command", "time", "nohup", "nice", "doas", "xargs"})
_PREFIX_VALUED = frozenset({"-u", "--user", "-g", "--group", "-n", "-C", "-D", "-h", "-p", "-U", "-S",
                            "--chdir", "-I", "-L", "-P"})


def _program(word: str) -> str:
    return PurePosixPath(word).name if "/" in word else word


def _positionals(args: list[Word], valued: frozenset[str] | None, boolean: frozenset[str] = frozenset(),
                 stop_at_first: bool = False) -> Iterator[tuple[Word, str | None, Word | None]]:
    """Walk ARGS: yield (positional, None, None) for arguments and (flag word, flag, value) for valued options.

    `valued` lists the flags taking a value; when it is None every flag not in BOOLEAN takes one.
    """
    index = 0
    while index < len(args):
        word = args[index]
        text = word.text
        if text == "--":
            for rest in args[index + 1:]:
                yield rest, None, None
            return
        # a flag whose value holds a variable (`--name="mint-${MODE}"`) is still a flag: its name is literal
        if text.startswith("-") and len(text) > 1 and (word.resolved or word.raw.lstrip("\"'").startswith("-")):
            flag, has_eq, inline = text.partition("=")
            if has_eq:
                yield word, flag, Word(inline, inline, word.line, list(word.missing))
                index += 1
                continue
            if not text.startswith("--") and len(text) > 2:
                # A cluster of short flags (`-it`); the first one taking a value takes the rest as its value.
                for offset in range(1, len(text)):
                    short = "-" + text[offset]
                    if _takes_value(short, valued, boolean):
                        rest = text[offset + 1:]
                        if rest:
                            yield word, short, Word(rest, rest, word.line)
                        elif index + 1 < len(args):
                            index += 1
                            yield word, short, args[index]
                        break
                index += 1
                continue
            if _takes_value(flag, valued, boolean):
                value = args[index + 1] if index + 1 < len(args) else None
                yield word, flag, value
                index += 2
                continue
            index += 1
            continue
        yield word, None, None
        if stop_at_first:
            return
        index += 1


def _takes_value(flag: str, valued: frozenset[str] | None, boolean: frozenset[str]) -> bool:
    if valued is None:
        return flag not in boolean
    return flag in valued


@dataclass(frozen=True)
class ImageMention:
    """A word a container command names as an image (or, for login, a registry)."""

    word: Word
    context: str
    login: bool = False


def _strip_keywords(words: list[Word]) -> list[Word]:
    """Drop the compound-command keywords before a command: `then docker pull x`, `do ...`, `if ! ...`."""
    index = 0
    while index < len(words) and words[index].text in _KEYWORDS:
        index += 1
    return words[index:]


def _loop_texts(text: str, loops: dict[str, list[str]]) -> list[str]:
    """TEXT once per value of each `for` loop variable it holds (placeholders `\\0NAME\\0`)."""
    names = list(dict.fromkeys(_LOOP_PLACEHOLDER_RE.findall(text)))
    if not names:
        return [text]
    texts = []
    for combo in itertools.islice(itertools.product(*(loops.get(name, []) for name in names)), _MAX_LOOP_VALUES):
        value = text
        for name, item in zip(names, combo, strict=True):
            value = value.replace(f"\x00{name}\x00", item)
        texts.append(value)
    return texts


def _strip_prefixes(words: list[Word]) -> list[Word]:
    """Drop `sudo -E`, `env A=1`, `exec`, `time` ... in front of the real program."""
    index = 0
    while index < len(words):
        program = _program(words[index].text)
        if program not in _PREFIX_PROGRAMS:
            return words[index:]
        index += 1
        while index < len(words):
            text = words[index].text
            if text.startswith("-"):
                index += 2 if text in _PREFIX_VALUED and program in ("sudo", "doas") else 1
            elif program == "env" and _ASSIGN_RE.match(text):
                index += 1
            else:
                break
    return []


def container_mentions(words: list[Word]) -> Iterator[ImageMention]:
    """The images and registries a command names, if it is a container CLI command."""
    words = _strip_prefixes(words)
    if not words:
        return
    program = _program(words[0].text)
    if program == "buildah":
        yield from _buildah(words[1:])
        return
    if program == "skopeo":
        yield from _skopeo(words[1:])
        return
    if program in ("gcloud", "az"):
        yield from _cloud_login(program, words[1:])
        return
    if program not in _CONTAINER_CLIS:
        return
    args = words[1:]
    # Global options before the subcommand.
    index = 0
    while index < len(args) and args[index].text.startswith("-"):
        text = args[index].text
        index += 2 if text in _GLOBAL_VALUED else 1
    if index >= len(args):
        return
    sub = args[index].text
    rest = args[index + 1:]
    if rest and (sub, rest[0].text) in _SUBCOMMAND_ALIASES:
        mapped = _SUBCOMMAND_ALIASES[(sub, rest[0].text)]
        if mapped is None:
            return
        sub, rest = mapped, rest[1:]
    elif sub == "buildx" and rest and rest[0].text == "imagetools" and len(rest) > 1:
        sub, rest = "imagetools-" + rest[1].text, rest[2:]
    label = f"{program} {sub}"
    if sub in ("pull", "push"):
        valued = _PULL_VALUED if sub == "pull" else _PUSH_VALUED
        for word, flag, _value in _positionals(rest, valued):
            if flag is None:
                yield ImageMention(_strip_transport(word), label)
    elif sub in ("run", "create"):
        for word, flag, value in _positionals(rest, None, _RUN_BOOLEAN, stop_at_first=True):
            if flag == "--pull" and value is not None and value.text == "never":
                return  # the image must already be local: no registry is contacted
            if flag is None:
                yield ImageMention(word, label)
    elif sub == "tag":
        positional = [w for w, flag, _v in _positionals(rest, frozenset()) if flag is None]
        for word, role in zip(positional[:2], ("source", "target"), strict=False):
            yield ImageMention(word, f"{label} ({role})")
    elif sub == "build":
        for _word, flag, value in _positionals(rest, _BUILD_VALUED):
            if value is None or flag is None:
                continue
            if flag in ("-t", "--tag"):
                yield ImageMention(value, f"{label} {flag}")
            elif flag in ("--cache-from", "--cache-to"):
                ref = _cache_ref(value)
                if ref is not None:
                    yield ImageMention(ref, f"{label} {flag}")
            elif flag == "--build-context":
                _name, _eq, target = value.text.partition("=")
                if target.startswith("docker-image://"):
                    image = target[len("docker-image://"):]
                    yield ImageMention(Word(image, value.raw, value.line, list(value.missing)), f"{label} {flag}")
            elif flag == "--from" and program == "podman":
                yield ImageMention(value, f"{label} {flag}")
    elif sub == "login":
        positional = [w for w, flag, _v in _positionals(rest, _LOGIN_VALUED) if flag is None]
        if positional:
            yield ImageMention(positional[0], label, login=True)
        else:
            yield ImageMention(Word("docker.io", "", words[0].line), f"{label} (no server: Docker Hub)", login=True)
    elif sub in ("manifest-inspect", "manifest-push"):
        positional = [w for w, flag, _v in _positionals(rest, frozenset({"--os", "--arch"})) if flag is None]
        if positional:
            yield ImageMention(positional[-1], f"{program} {sub.replace('-', ' ')}")
    elif sub == "manifest-create":
        positional = [w for w, flag, _v in _positionals(rest, frozenset()) if flag is None]
        for word in positional:
            yield ImageMention(word, f"{program} manifest create")
    elif sub.startswith("imagetools-"):
        verb = sub.removeprefix("imagetools-")
        valued = frozenset({"-t", "--tag", "-f", "--file", "--builder", "--format", "--annotation", "--progress"})
        for word, flag, value in _positionals(rest, valued):
            if flag is None and verb in ("inspect", "create"):
                yield ImageMention(word, f"{program} buildx imagetools {verb}")
            elif flag in ("-t", "--tag") and value is not None:
                yield ImageMention(value, f"{program} buildx imagetools {verb} {flag}")


def _strip_transport(word: Word) -> Word:
    for prefix in ("docker://",):
        if word.text.startswith(prefix):
            return replace(word, text=word.text[len(prefix):])
    return word


def _cache_ref(value: Word) -> Word | None:
    """`--cache-from IMAGE` or `type=registry,ref=IMAGE`; local/gha/s3 caches name no image."""
    text = value.text
    if "=" not in text:
        return value
    fields = dict(part.partition("=")[::2] for part in text.split(","))
    if fields.get("type", "registry") == "registry" and fields.get("ref"):
        return Word(fields["ref"], value.raw, value.line, list(value.missing))
    return None


def _buildah(args: list[Word]) -> Iterator[ImageMention]:
    if not args:
        return
    sub, rest = args[0].text, args[1:]
    valued = _PUSH_VALUED | frozenset({"--name", "--arch", "--os", "--cap-add", "--cap-drop", "-v",
                                       "--volume", "--userns", "--ulimit", "--isolation"})
    if sub in ("from", "pull", "push"):
        for word, flag, _value in _positionals(rest, valued, stop_at_first=sub != "push"):
            if flag is None:
                yield ImageMention(_strip_transport(word), f"buildah {sub}")
    elif sub in ("bud", "build", "build-using-dockerfile"):
        for _word, flag, value in _positionals(rest, _BUILD_VALUED):
            if flag in ("-t", "--tag") and value is not None:
                yield ImageMention(value, f"buildah {sub} {flag}")
    elif sub == "login":
        positional = [w for w, flag, _v in _positionals(rest, _LOGIN_VALUED) if flag is None]
        if positional:
            yield ImageMention(positional[0], "buildah login", login=True)


def _cloud_login(program: str, args: list[Word]) -> Iterator[ImageMention]:
    """`gcloud auth configure-docker HOST,HOST` and `az acr login --name NAME` set up registry logins."""
    texts = [w.text for w in args]
    if program == "gcloud" and texts[:2] == ["auth", "configure-docker"]:
        hosts = [w for w in args[2:] if not w.text.startswith("-")]
        for word in hosts[:1]:
            for host in word.text.split(","):
                if host.strip():
                    yield ImageMention(replace(word, text=host.strip()), "gcloud auth configure-docker", login=True)
    elif program == "az" and texts[:2] == ["acr", "login"]:
        for _word, flag, value in _positionals(args[2:], frozenset({"--name", "-n", "--resource-group", "-g",
                                                                   "--subscription", "--username", "-u",
                                                                   "--password", "-p"})):
            if flag in ("--name", "-n") and value is not None:
                host = value.text if "." in value.text else f"{value.text}.azurecr.io"
                yield ImageMention(replace(value, text=host), "az acr login", login=True)


def _skopeo(args: list[Word]) -> Iterator[ImageMention]:
    """skopeo names registry images with the `docker://` transport; other transports are local."""
    index = 0
    while index < len(args) and args[index].text.startswith("-"):
        index += 1
    if index >= len(args):
        return
    sub = args[index].text
    for word in args[index + 1:]:
        if word.text.startswith("docker://"):
            yield ImageMention(_strip_transport(word), f"skopeo {sub}")
        elif sub == "login" and not word.text.startswith("-"):
            yield ImageMention(word, "skopeo login", login=True)
            return


# ---------------------------------------------------------------------------------------------- evidence


def scan_script(text: str, first_line: int, source_for: Callable[[int], Source],
                lookup: Lookup, context: str = "", opaque: re.Pattern[str] | None = None,
                assigned: dict[str, str | None] | None = None, depth: int = 0) -> Iterator[Evidence]:
    """Evidence for every container command in the shell TEXT that starts at FIRST_LINE of its file.

    `lookup` gives the variables the caller knows (CI env blocks); simple assignments in the script
    update them as it goes. `opaque` matches CI expressions the caller could not resolve (they are
    reported unresolved as written; each starts with `$` or `<`). `context` is prefixed to each record's context
    (`jobs.build.steps[2].run`).
    `assigned` carries the script's own assignments across calls (the lines of one CI `script:` list).
    """
    if assigned is None:
        assigned = {}
    if "=" not in text and not _PROGRAMS_RE.search(text):
        return  # nothing to assign and no command of interest: most CI script lines

    loops: dict[str, list[str]] = {}

    def current(name: str) -> str | None:
        if name in assigned:
            return assigned[name]
        return lookup(name)

    patterns = _CI_EXPRESSION_RE if opaque is None else re.compile(f"{opaque.pattern}|{_CI_EXPRESSION_RE.pattern}",
                                                                    re.DOTALL)
    tokenizer = _Tokenizer(text, first_line, current, patterns)
    for command in tokenizer.commands():
        for message, line in tokenizer.errors:
            yield InputError(message, source_for(line))
        tokenizer.errors.clear()
        substitutions, tokenizer.substitutions = tokenizer.substitutions, []
        if depth < _MAX_SUBSTITUTION_DEPTH:
            for inner, line in substitutions:  # `ID=$(docker run -d redis)`: the inner command runs too
                yield from scan_script(inner, line, source_for, current, context, opaque, dict(assigned), depth + 1)
        words = _strip_keywords(command.words)
        if len(words) >= 3 and words[0].text == "for" and words[2].text == "in" and _NAME_RE.match(words[1].text):
            # `for IMAGE in a b c`: the body's `$IMAGE` stands for each word in turn.
            name = words[1].text
            values = []
            for w in words[3:]:  # an unquoted expansion splits into words, as the shell splits it
                values.extend(w.text.split() if "$" in w.raw and not any(q in w.raw for q in "'\"") else [w.text])
            resolved = all(w.resolved for w in words[3:]) and len(values) > 0
            loops[name] = values[:_MAX_LOOP_VALUES] if resolved else []
            assigned[name] = f"\x00{name}\x00" if resolved else None
            continue
        program_index = 0
        while program_index < len(words) and (match := _ASSIGN_RE.match(words[program_index].text)):
            if program_index == len(words) - 1 or all(_ASSIGN_RE.match(w.text) for w in words):
                assigned[match.group(1)] = match.group(2) if words[program_index].resolved else None
            program_index += 1
        rest = words[program_index:]
        if rest and rest[0].text in ("export", "readonly", "declare", "local", "typeset"):
            for word in rest[1:]:
                if match := _ASSIGN_RE.match(word.text):
                    assigned[match.group(1)] = match.group(2) if word.resolved else None
            continue
        for mention in container_mentions(rest):
            where = f"{context}: {mention.context}" if context else mention.context
            for text in _loop_texts(mention.word.text, loops):
                word = replace(mention.word, text=text)
                yield mention_evidence(replace(mention, word=word), source_for(mention.word.line), where)
    for message, line in tokenizer.errors:
        yield InputError(message, source_for(line))


def mention_evidence(mention: ImageMention, source: Source, context: str) -> Evidence:
    word = mention.word
    if not word.resolved:
        names = ", ".join(dict.fromkeys(word.missing))
        return Unresolved(word.text, f"unresolved: {names}", source, context)
    if mention.login:
        host = normalize_registry_host(word.text)
        if not host:
            return Unresolved(word.text, "empty registry host", source, context)
        return HostReference(host, HostPurpose.LOGIN, word.text, source, context)
    return image_evidence(word.text, source, context)


def image_evidence(text: str, source: Source, context: str, raw: str = "") -> Evidence:
    """An ImageReference for TEXT, or Unresolved naming why it is not a valid reference."""
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        return Unresolved(raw or text, f"invalid reference: {exc.reason}", source, context)
    return replace(ref, source=source, context=context)
