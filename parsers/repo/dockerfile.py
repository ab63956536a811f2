"""Dockerfile / Containerfile: every image a build pulls, resolved the way BuildKit resolves it.

What is a reference (context in brackets):
- `FROM [--platform=...] IMAGE [AS name]` (`FROM`): IMAGE is expanded with the ARGs declared before the first
  FROM only (BuildKit's global scope) plus the builder's automatic platform ARGs; `scratch` is no image; a name
  equal to an earlier stage's (lower-cased) name is that stage, not an image;
- `COPY --from=X` (`COPY --from`) and `RUN --mount=...,from=X` (`RUN --mount from`): X is an image unless it
  names a stage (case-insensitively, anywhere in the file) or is a stage number; BuildKit never expands
  variables in `--from`, so one there is reported as Unresolved;
- the same under ONBUILD (`ONBUILD COPY --from`, `ONBUILD RUN --mount from`): triggers for a later build;
- `# syntax=IMAGE` (`# syntax`): the frontend image BuildKit pulls before reading the rest; a `BUILDKIT_SYNTAX`
  build arg replaces it (`BUILDKIT_SYNTAX`, no line);
- `ADD <http(s) or git URL>` (`ADD`): a HostReference(ADD_URL) to the URL's host, since Registry Access
  Management filters ADD downloads too; its variables come from the stage's ARG and ENV values.
Variables: `--set VAR=VALUE` (ctx.variables) act as `--build-arg`: they override the default of a declared ARG.
A value that stays unknown (no default, an automatic platform ARG, an undeclared name) makes the reference
Unresolved, naming the variable: never guessed. An ARG without default counts as unknown, not as empty.
Stages: without a target every stage's images are reported (CI builds any `--target`); with a target (compose
`build.target`, or LAST_STAGE for compose's default) only the stages BuildKit reaches from it are.
A name that a docker-bake file beside the Dockerfile (or up to three folders above) gives it as a named context
(`contexts = { base = "docker-image://..." }`) is that context, not an image, as `docker buildx bake` builds it.
Duplicates: a Dockerfile found by a directory walk is read on its own here (parser `dockerfile`, ARG defaults
and `--set` only) and again through every compose service that builds it (parser `compose`, with the service's
build args and target). Both records carry the same file and line; they differ in parser and context, and when
the build args change the resolved name both names are real pulls.
Malformed input (over-long line, undecodable bytes, unterminated heredoc, bad directive) becomes an InputError
naming the line; every other line is still used.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from auditor.core.model import Evidence, HostPurpose, HostReference, ImageReference, InputError, Source, Unresolved
from auditor.core.reference import InvalidReference, parse_reference
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.interpolate import Interpolated, Lookup, interpolate
from parsers.repo import bake_file
from parsers.repo import dockerfile_lexer as lexer
from parsers.repo.dockerfile_lexer import Instruction, LexResult, RawLine

NAME = "dockerfile"
LAST_STAGE = "\x00last-stage"  # target meaning "the last stage", as `docker build` without --target

# Renovate's default patterns: `Dockerfile`, `Dockerfile.*`, `Dockerfile-chroot`, `Dockerfile_alpine`, `x.Dockerfile`.
_NAME_RE = re.compile(
    r"^(?:dockerfile|containerfile)(?:[._-].+)?$|^.+\.(?:dockerfile|containerfile)$", re.IGNORECASE
)
# Read by content only when a file is named on the command line under another name: the first instruction (after
# comments, parser directives and blank lines) is FROM or ARG, as BuildKit requires.
_CONTENT_RE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*(?:FROM|ARG)[ \t]+\S", re.IGNORECASE)
# Names that match the patterns above but are documentation, templates or backups, not build files.
_NOT_BUILD_FILES = frozenset({
    "md", "rst", "txt", "html", "adoc", "orig", "rej", "bak", "swp", "tmpl", "tpl", "j2", "jinja", "jinja2",
    "template", "in", "erb", "sh", "py", "json", "yml", "yaml", "toml", "lock", "sum", "patch", "diff",
    "dockerignore",
})
# `Dockerfile.template` placeholders (balena, resin.io): filled in by a tool before any build, never guessed here
_TEMPLATE_PLACEHOLDER_RE = re.compile(r"%%[A-Za-z_][A-Za-z0-9_]*%%")
_TEMPLATE_REASON = "a template placeholder (%%NAME%%): the file is a template, filled in before it is built"
_DOCUMENTS = frozenset({"md", "rst", "txt", "html", "adoc"})
_COMPRESSED = (".gz", ".bz2", ".xz")
_INSTRUCTIONS = frozenset({
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label", "maintainer",
    "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
})
_STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_STAGE_INDEX_RE = re.compile(r"^[+-]?[0-9]+$")
# Set by the builder for each build (BuildKit's automatic platform ARGs), visible to FROM without a declaration.
PLATFORM_ARGS = frozenset({
    "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE",
})
_SCP_GIT_RE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+\.[A-Za-z]{2,}|\[[0-9a-fA-F:]+\]):(?!//)\S")


def detect(inp: InputFile) -> bool:
    name = inp.name
    for suffix in _COMPRESSED:
        if name.lower().endswith(suffix) and inp.compression is not None:
            name = name[: -len(suffix)]
    if not _NAME_RE.match(name):
        return False
    lower = name.lower()
    if lower.startswith(("dockerfile", "containerfile")) and "." in lower:
        return lower.rsplit(".", 1)[-1] not in _NOT_BUILD_FILES
    return True


def detect_content(inp: InputFile) -> bool:
    """A file named explicitly under an unusual name (`build/web.df`) is a Dockerfile when it reads like one."""
    if inp.name.lower().rsplit(".", 1)[-1] in _DOCUMENTS:
        return False  # a README that starts with a FROM example is still a README
    return not inp.looks_binary and bool(_CONTENT_RE.match(inp.head))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    if inp.looks_binary:
        yield inp.error("binary content (NUL bytes) in a Dockerfile; skipped", parser=NAME)
        return
    with inp.open() as stream:
        lines = lexer.lines_from_stream(stream, ctx.advance)
        # a bake target's named contexts replace the images of those names for this Dockerfile (as bake builds it)
        named = bake_file.named_contexts_for(inp.path, inp.root) if inp.display != "<stdin>" else frozenset()
        yield from _extract(lines, inp.display, dict(ctx.variables), None, NAME, "", named_contexts=named)


def extract_dockerfile(text: str, display_path: str, build_args: dict[str, str] | None = None,
                       target: str | None = None, parser: str = NAME, context_prefix: str = "",
                       line_offset: int = 0, fallback_args: dict[str, str] | None = None,
                       named_contexts: Iterable[str] = ()) -> Iterator[Evidence]:
    """References of a Dockerfile given as TEXT, sources naming DISPLAY_PATH.

    BUILD_ARGS act as `--build-arg`; FALLBACK_ARGS fill in only ARGs that BUILD_ARGS lack. TARGET restricts the
    result to the stages reachable from that stage (LAST_STAGE: the last one). CONTEXT_PREFIX is put before
    every context (`services.web.build`); LINE_OFFSET is added to every line (an inline Dockerfile).
    NAMED_CONTEXTS (compose `additional_contexts` keys) replace the images or stages of the same name.
    """
    args = dict(fallback_args or {})
    args.update(build_args or {})
    lines = lexer.lines_from_text(text)
    yield from _extract(lines, display_path, args, target, parser, context_prefix, line_offset,
                        frozenset(named_contexts))


# -- word expansion ------------------------------------------------------------------------------------------


def _variable_end(word: str, start: int) -> int:
    """End of the `$NAME` or `${...}` expression at START, or START + 1 when `$` is literal."""
    n = len(word)
    if start + 1 >= n:
        return start + 1
    nxt = word[start + 1]
    if nxt == "{":
        depth = 0
        for i in range(start + 1, n):
            if word[i] == "{":
                depth += 1
            elif word[i] == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
        return n
    if nxt.isascii() and (nxt.isalpha() or nxt == "_"):
        end = start + 1
        while end < n and word[end].isascii() and (word[end].isalnum() or word[end] == "_"):
            end += 1
        return end
    return start + 1


# the quote is found by a possessive lookahead: `.*["'].*\}` tried every quote against every later brace
_QUOTED_WORD_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-+?])((?=[^\"']*+[\"']).*)\}$", re.DOTALL)


def _expand_quoted_operand(match: re.Match[str], lookup: Lookup, escape: str, result: Interpolated) -> str:
    """`${NAME:-"word"}`: BuildKit's lexer removes quotes in the operand word, which the interpolator keeps."""
    name, op, operand = match.groups()
    value = lookup(name)
    absent = value is None or (op.startswith(":") and value == "")
    kind = op[-1]
    if kind == "?":
        if absent:
            result.errors.append(f"{name}: {expand_word(operand, lookup, escape).text}")
            return ""
        return value or ""
    if (kind == "-") != absent:
        return "" if kind == "+" else (value or "")
    word = expand_word(operand, lookup, escape)
    result.missing.extend(n for n in word.missing if n not in result.missing)
    result.errors.extend(word.errors)
    return word.text


def expand_word(word: str, lookup: Lookup, escape: str = "\\") -> Interpolated:
    """shell.Lex ProcessWord: quotes removed, escapes resolved, `$VAR`/`${VAR...}` expanded with LOOKUP."""
    result = Interpolated("")
    out: list[str] = []
    i = 0
    n = len(word)

    def dollar(at: int) -> int:
        end = _variable_end(word, at)
        if end == at + 1:
            out.append("$")
            return end
        quoted = _QUOTED_WORD_RE.match(word[at:end])
        if quoted:
            out.append(_expand_quoted_operand(quoted, lookup, escape, result))
            return end
        expanded = interpolate(word[at:end], lookup, dialect="dockerfile", escape=escape)
        out.append(expanded.text)
        result.missing.extend(name for name in expanded.missing if name not in result.missing)
        result.errors.extend(expanded.errors)
        return end

    while i < n:
        ch = word[i]
        if ch == "'":
            close = word.find("'", i + 1)
            if close < 0:
                result.errors.append("unexpected end of statement while looking for matching single-quote")
                close = n
            out.append(word[i + 1:close])
            i = close + 1
        elif ch == '"':
            i += 1
            while i < n and word[i] != '"':
                if word[i] == escape and i + 1 < n:
                    if word[i + 1] in ('"', "$", escape):
                        out.append(word[i + 1])
                    else:
                        out.append(word[i:i + 2])
                    i += 2
                elif word[i] == "$":
                    i = dollar(i)
                else:
                    out.append(word[i])
                    i += 1
            if i >= n:
                result.errors.append("unexpected end of statement while looking for matching double-quote")
            i += 1
        elif ch == escape:
            if i + 1 < n:
                out.append(word[i + 1])
            i += 2
        elif ch == "$":
            i = dollar(i)
        else:
            out.append(ch)
            i += 1
    result.text = "".join(out)
    return result


# -- semantics -----------------------------------------------------------------------------------------------


@dataclass
class _Stage:
    index: int
    line: int
    name: str  # lower case, "" when unnamed
    env: dict[str, str | None] = field(default_factory=dict)
    deps: set[int] = field(default_factory=set)
    records: list[Evidence] = field(default_factory=list)


@dataclass
class _Scope:
    """What names mean: global (meta) ARGs, build args, and why a name has no value."""

    build_args: dict[str, str]
    escape: str = "\\"
    globals: dict[str, str | None] = field(default_factory=dict)  # declared before FROM; None: no value

    def global_lookup(self, name: str) -> str | None:
        return self.globals.get(name)

    def why_missing(self, names: list[str], stage_env: dict[str, str | None] | None) -> str:
        reasons = []
        for name in names:
            declared = self.globals if stage_env is None else stage_env
            if name in declared:
                reasons.append(f"{name} (ARG without a default value; pass --set {name}=VALUE)")
            elif name in PLATFORM_ARGS:
                reasons.append(f"{name} (set by the builder for each target platform; pass --set {name}=VALUE)")
            elif stage_env is None:
                reasons.append(f"{name} (not declared by an ARG before the first FROM: BuildKit expands it to "
                               "an empty string)")
            else:
                reasons.append(f"{name} (not declared by an ARG or ENV in this stage)")
        return "unresolved variable " + ", ".join(reasons)


def _key_values(inst: Instruction, escape: str) -> list[tuple[str, str | None]]:
    """ARG/ENV pairs: `NAME=value` words (quotes respected), or the legacy `ENV NAME value` form."""
    words = lexer._raw_words(inst.args.replace("\n", " "))
    if inst.command == "env" and words and "=" not in words[0]:
        name, _, rest = inst.args.strip().partition(" ")
        return [(name, rest.strip())]
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        if "=" in word:
            name, _, value = word.partition("=")
            pairs.append((name, value))
        else:
            pairs.append((word, None))
    return pairs


def _flag_values(flags: list[str], name: str) -> list[str]:
    prefix = f"--{name}="
    return [flag[len(prefix):] for flag in flags if flag.lower().startswith(prefix)]


def _mount_from(spec: str) -> str | None:
    try:
        fields = next(csv.reader([spec]))
    except (csv.Error, StopIteration):
        return None
    for item in fields:
        key, sep, value = item.partition("=")
        if sep and key.strip().lower() == "from":
            return value.strip()
    return None


def _url_host(src: str) -> str | None:
    """The host an ADD source downloads from (http/https/git/ssh URL or scp-like git address), or None."""
    lowered = src.lower()
    if lowered.startswith(("http://", "https://", "git://", "ssh://", "git+ssh://", "git+https://")):
        try:
            host = urlsplit(src).hostname
        except ValueError:
            return None
        return host.rstrip(".").lower() if host else None
    match = _SCP_GIT_RE.match(src)
    if match and (src.endswith(".git") or ".git#" in src or src.startswith("git@")):
        return match.group(1).strip("[]").lower()
    return None


class _Extractor:
    def __init__(self, display: str, build_args: dict[str, str], target: str | None, parser: str,
                 context_prefix: str, line_offset: int, named_contexts: frozenset[str]) -> None:
        self.display = display
        self.scope = _Scope(build_args=build_args)
        self.target = target
        self.parser = parser
        self.prefix = f"{context_prefix} " if context_prefix else ""
        self.offset = line_offset
        self.named_contexts = named_contexts
        self.stages: list[_Stage] = []
        self.all_stage_names: dict[str, int] = {}
        self.stage_count = 0
        self.always: list[Evidence] = []

    def source(self, line: int | None) -> Source:
        return Source(path=self.display, line=None if line is None else line + self.offset, parser=self.parser)

    def error(self, line: int | None, message: str) -> InputError:
        return InputError(message=message, source=self.source(line))

    def add(self, record: Evidence) -> None:
        (self.stages[-1].records if self.stages else self.always).append(record)

    # references

    def image(self, text: str, line: int | None, context: str, expanded: Interpolated | None = None,
              stage_env: dict[str, str | None] | None = None) -> None:
        context = self.prefix + context
        if expanded is not None and not expanded.complete:
            reason = "unresolved variable: " + "; ".join(expanded.errors) if expanded.errors else ""
            if expanded.missing:
                missing = self.scope.why_missing(expanded.missing, stage_env)
                reason = f"{missing}; {reason}" if reason else missing
            self.add(Unresolved(text, reason, self.source(line), context))
            return
        name = expanded.text if expanded is not None else text
        if name in self.named_contexts:
            return
        if _TEMPLATE_PLACEHOLDER_RE.search(name):
            self.add(Unresolved(name, _TEMPLATE_REASON, self.source(line), context))
            return
        try:
            ref = parse_reference(name)
        except InvalidReference as exc:
            self.add(Unresolved(name, f"invalid reference: {exc.reason}", self.source(line), context))
            return
        self.add(_with(ref, name, self.source(line), context))

    def stage_or_image(self, value: str, line: int, context: str) -> None:
        """A `--from` value: a stage (by name or number), or an image; variables are not expanded."""
        if _STAGE_INDEX_RE.match(value):
            index = int(value)
            if self.stages and 0 <= index < self.stage_count:
                self.stages[-1].deps.add(index)
            elif self.stages:
                self.add(self.error(line, f"{context}: stage index {value} does not exist"))
            return
        stage = self.all_stage_names.get(value.lower())
        if stage is not None:
            if self.stages:
                self.stages[-1].deps.add(stage)
            return
        if "$" in value:
            self.add(Unresolved(value, "variables are not expanded in --from (BuildKit refuses it; declare a stage "
                                       "`FROM ${VAR} AS name` and use --from=name)",
                                self.source(line), self.prefix + context))
            return
        self.image(value, line, context)

    def add_url(self, inst: Instruction, line: int, context: str, env: dict[str, str | None]) -> None:
        words = inst.json_args()
        if words is None:
            words = inst.words()
        for src in words[:-1]:
            expanded = expand_word(src, _env_lookup(env), self.scope.escape)
            host = _url_host(expanded.text) if expanded.complete else None
            if host:
                self.add(HostReference(host, HostPurpose.ADD_URL, expanded.text, self.source(line),
                                       self.prefix + context))
            elif not expanded.complete and (_url_host(src) or "://" in src or src.startswith(("$", "git@"))):
                reason = "; ".join(expanded.errors) or self.scope.why_missing(expanded.missing, env)
                self.add(Unresolved(src, reason, self.source(line), self.prefix + context))

    # instructions

    def run(self, instructions: Iterable[Instruction]) -> None:
        for inst in instructions:
            handler = getattr(self, f"on_{inst.command}", None)
            if handler is None:
                continue
            handler(inst)

    def on_arg(self, inst: Instruction) -> None:
        for name, default in _key_values(inst, self.scope.escape):
            if not name:
                continue
            if not self.stages:
                self.scope.globals[name] = self._arg_value(name, default, self.scope.global_lookup)
            else:
                env = self.stages[-1].env
                value = self._arg_value(name, default, _env_lookup(env))
                if value is None and default is None and name not in self.scope.build_args:
                    value = self.scope.globals.get(name)
                env[name] = value

    def _arg_value(self, name: str, default: str | None, lookup: Lookup) -> str | None:
        if name in self.scope.build_args:
            return self.scope.build_args[name]
        if default is None:
            return None
        expanded = expand_word(default, lookup, self.scope.escape)
        return expanded.text if expanded.complete else None

    def on_env(self, inst: Instruction) -> None:
        if not self.stages:
            return
        env = self.stages[-1].env
        for name, value in _key_values(inst, self.scope.escape):
            if value is None:
                continue
            expanded = expand_word(value, _env_lookup(env), self.scope.escape)
            env[name] = expanded.text if expanded.complete else None

    def on_from(self, inst: Instruction) -> None:
        words = inst.words()
        line = inst.line
        stage_name = ""
        if len(words) == 3 and words[1].lower() == "as":
            stage_name = words[2].lower()
            if not _STAGE_NAME_RE.match(stage_name):
                self.always.append(self.error(line, f"invalid name for build stage: {words[2]!r}, name can't "
                                                    "start with a number or contain symbols"))
        elif len(words) != 1:
            self.always.append(self.error(line, "FROM requires either one or three arguments"))
            if not words:
                return
        earlier = {stage.name: stage.index for stage in self.stages if stage.name}
        stage = _Stage(index=len(self.stages), line=line, name=stage_name)
        self.stages.append(stage)
        lookup = _meta_lookup(self.scope)
        expanded = expand_word(words[0], lookup, self.scope.escape)
        if not expanded.complete:
            self.image(words[0], line, "FROM", expanded)
            return
        base = expanded.text
        if base == "":
            self.add(Unresolved(words[0], f"base name ({words[0]}) should not be blank", self.source(line),
                                self.prefix + "FROM"))
            return
        if base.lower() == "scratch":
            return
        if base in earlier:
            base_stage = self.stages[earlier[base]]
            stage.deps.add(base_stage.index)
            stage.env = dict(base_stage.env)
            return
        self.image(words[0], line, "FROM", expanded)

    def on_copy(self, inst: Instruction, context: str = "COPY --from") -> None:
        for value in _flag_values(inst.flags, "from"):
            self.stage_or_image(value, inst.line, context)

    def on_run(self, inst: Instruction, context: str = "RUN --mount from") -> None:
        for spec in _flag_values(inst.flags, "mount"):
            value = _mount_from(spec)
            if value:
                self.stage_or_image(value, inst.line, context)

    def on_add(self, inst: Instruction, context: str = "ADD") -> None:
        env = self.stages[-1].env if self.stages else {}
        self.add_url(inst, inst.line, context, env)

    def on_onbuild(self, inst: Instruction) -> None:
        command, flags, args = lexer.split_command(inst.args)
        sub = Instruction(inst.line, inst.end_line, command, flags, args, inst.args)
        if command in ("from", "onbuild", "maintainer"):
            self.add(self.error(inst.line, f"{command.upper()} isn't allowed as an ONBUILD trigger"))
        elif command == "copy":
            for value in _flag_values(flags, "from"):
                self._onbuild_from(value, inst.line, "ONBUILD COPY --from")
        elif command == "run":
            for spec in _flag_values(flags, "mount"):
                value = _mount_from(spec)
                if value:
                    self._onbuild_from(value, inst.line, "ONBUILD RUN --mount from")
        elif command == "add":
            self.add_url(sub, inst.line, "ONBUILD ADD", {})

    def _onbuild_from(self, value: str, line: int, context: str) -> None:
        # The trigger runs in a later build, whose stages are unknown here: only a stage number is surely no image.
        if _STAGE_INDEX_RE.match(value):
            return
        if "$" in value:
            self.add(Unresolved(value, "variables are not expanded in --from", self.source(line),
                                self.prefix + context))
            return
        self.image(value, line, context)

    def reachable(self) -> set[int] | None:
        if self.target is None or not self.stages:
            return None
        if self.target == LAST_STAGE:
            start = len(self.stages) - 1
        else:
            found = next((s.index for s in self.stages if s.name and s.name == self.target.lower()), None)
            if found is None:
                self.always.append(self.error(None, f"target stage {self.target!r} could not be found; "
                                                    "every stage is reported"))
                return None
            start = found
        seen: set[int] = set()
        todo = [start]
        while todo:
            index = todo.pop()
            if index in seen or not 0 <= index < len(self.stages):
                continue
            seen.add(index)
            todo.extend(self.stages[index].deps)
        return seen


def _meta_lookup(scope: _Scope) -> Lookup:
    def lookup(name: str) -> str | None:
        if name in scope.globals:
            return scope.globals[name]
        if name in PLATFORM_ARGS and name in scope.build_args:
            return scope.build_args[name]
        return None
    return lookup


def _env_lookup(env: dict[str, str | None]) -> Lookup:
    return env.get


def _with(ref: ImageReference, original: str, source: Source, context: str) -> ImageReference:
    return replace(ref, original=original, source=source, context=context)


def _prescan_stages(instructions: list[Instruction]) -> tuple[dict[str, int], int]:
    """Every stage name (lower case) with its index, and the number of stages: `--from` may name a later one."""
    names: dict[str, int] = {}
    index = 0
    for inst in instructions:
        if inst.command != "from":
            continue
        words = inst.words()
        if len(words) == 3 and words[1].lower() == "as":
            names.setdefault(words[2].lower(), index)
        index += 1
    return names, index


def _extract(lines: Iterator[RawLine], display: str, build_args: dict[str, str], target: str | None,
             parser: str, context_prefix: str, line_offset: int = 0,
             named_contexts: frozenset[str] = frozenset()) -> Iterator[Evidence]:
    result = LexResult()
    instructions = [_slim(inst) for inst in lexer.instructions(lines, result)]
    extractor = _Extractor(display, build_args, target, parser, context_prefix, line_offset, named_contexts)
    extractor.scope.escape = result.escape
    if "BUILDKIT_SYNTAX" in build_args:
        # The build arg replaces whatever frontend the file's directive names (dockerfile frontend, forwardGateway).
        extractor.image(build_args["BUILDKIT_SYNTAX"].split(" ", 1)[0], None, "BUILDKIT_SYNTAX")
    elif result.syntax:
        extractor.image(result.syntax, result.syntax_line or 1, "# syntax")
    for problem in result.problems:
        extractor.always.append(extractor.error(problem.line, problem.message))
    extractor.all_stage_names, extractor.stage_count = _prescan_stages(instructions)
    for name in extractor.named_contexts:
        extractor.all_stage_names.pop(name.lower(), None)
    for inst in instructions:
        if inst.command not in _INSTRUCTIONS:
            extractor.always.append(extractor.error(inst.line, f"unknown instruction: {inst.original.split()[0]}"))
            continue
        if not extractor.stages and inst.command not in ("arg", "from"):
            extractor.always.append(extractor.error(inst.line, f"{inst.command.upper()} before the first FROM "
                                                               "(only ARG may come before it); ignored"))
            continue
        extractor.run([inst])
    reachable = extractor.reachable()
    records = list(extractor.always)
    for stage in extractor.stages:
        if reachable is None or stage.index in reachable:
            records.extend(stage.records)
    records.sort(key=_record_line)
    yield from records


_KEPT = frozenset({"from", "arg", "env", "copy", "add", "onbuild"})


def _slim(inst: Instruction) -> Instruction:
    """Drop the text of instructions that cannot name an image, so a long file does not pile up in memory."""
    if inst.command in _KEPT or (inst.command == "run" and inst.flags):
        return inst
    return Instruction(inst.line, inst.end_line, inst.command, [], "", inst.original.split(None, 1)[0][:64])


def _record_line(record: Evidence) -> int:
    source = getattr(record, "source", None)
    return (source.line or 0) if source is not None else 0
