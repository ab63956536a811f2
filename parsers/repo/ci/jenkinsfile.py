"""Jenkins pipelines (`Jenkinsfile`, `Jenkinsfile.*`, `*.jenkinsfile`, `*.groovy` holding a pipeline).

A tolerant Groovy tokenizer (strings of every quoting, `//` and `/* */` comments) feeds a small matcher, so
commented-out code is never extracted. Recognized: declarative `agent { docker 'img' }`,
`agent { docker { image '...'; registryUrl '...' } }`, `dockerContainer { image ... }`,
`dockerfile { registryUrl ... }`; scripted `docker.image('x')` (`.inside/.pull/.run/.withRun`),
`docker.build('name')`, `docker.withRegistry(url, cred)` and `withDockerRegistry([url: ...])` (an image named
inside their block without a registry is pulled from that registry), `image: '...'` named arguments
(`containerTemplate`, `docker(...)`), a kubernetes agent's pod `yaml`, and `sh`/`bat`/`powershell` scripts
through the shell extractor. Double-quoted (GString) values interpolate `${VAR}`/`$VAR`/`${env.VAR}` from
literal `environment {}` entries and `def VAR = '...'`; single-quoted Groovy strings are literal; anything
else is unresolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.core.model import Evidence, HostPurpose, HostReference, Source, Unresolved
from auditor.core.reference import DEFAULT_DOMAIN, normalize_registry_host, split_docker_domain
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.interpolate import interpolate
from parsers.repo.shell import image_evidence, scan_script

NAME = "jenkinsfile"

# `^[ \t]*`, not `^\s*`: `\s` spans newlines, so each of a head of empty lines rescanned all that followed
_PIPELINE_RE = re.compile(rb"(?m)^[ \t]*(?:pipeline|node)\s*(?:\(|\{)|docker\.(?:image|withRegistry|build)\s*\(")
_MAX_SPAN = 500
_SCRIPT_STEPS = frozenset({"sh", "bat", "powershell", "pwsh"})
_ENV_PROPERTY_RE = re.compile(r"\$\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}|\$env\.([A-Za-z_][A-Za-z0-9_]*)")
# In a GString, `${...}` holding more than a plain name (a method call, `params.X`, `a ?: b`) is Groovy code.
# the body stops at a `}` or another `${` (a long line of `${` without `}` is scanned once)
_GROOVY_EXPR_RE = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*\})(?:[^}$]|\$(?!\{))*+\}")
_YAML_IMAGE_RE = re.compile(r"""^[ \t]*+(?:-[ \t]+)?image[ \t]*:[ \t]*["']?([^\s"'#]+)""", re.MULTILINE)


def detect(inp: InputFile) -> bool:
    name = inp.name
    lower = name.lower()
    if inp.looks_binary:
        return False
    if name == "Jenkinsfile" or name.startswith("Jenkinsfile.") or lower.endswith((".jenkinsfile", ".jenkins")):
        return True
    return lower.endswith(".groovy") and bool(_PIPELINE_RE.search(inp.head))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    ctx.advance(inp.size)
    if text is None:
        return
    tokenizer = _Tokenizer(text)
    tokens = list(tokenizer.tokens())
    for message, line in tokenizer.errors:
        yield inp.error(message, line=line, parser=NAME)
    yield from _Matcher(inp, tokens, dict(ctx.variables)).evidence()


# ---------------------------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "string", "punct", "other"
    value: str
    line: int
    gstring: bool = False  # a double-quoted string: Groovy interpolates `$`


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.errors: list[tuple[str, int]] = []

    def tokens(self) -> Iterator[Token]:
        text = self.text
        if text.startswith("#!"):
            self._skip_to(text.find("\n"))
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\n":
                self.line += 1
                self.pos += 1
            elif ch in " \t\r\f":
                self.pos += 1
            elif text.startswith("//", self.pos):
                self._skip_to(text.find("\n", self.pos))
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    self.errors.append(("unterminated /* comment: the rest of the file is a comment", self.line))
                self._skip_to(len(text) if end < 0 else end + 2)
            elif ch in "'\"":
                yield self._string(ch)
            elif ch.isalpha() or ch == "_":
                start = self.pos
                while self.pos < len(text) and (text[self.pos].isalnum() or text[self.pos] == "_"):
                    self.pos += 1
                yield Token("ident", text[start:self.pos], self.line)
            else:
                self.pos += 1
                yield Token("punct" if ch in "{}()[].,:=+" else "other", ch, self.line)

    def _skip_to(self, end: int) -> None:
        end = len(self.text) if end < 0 else end
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def _string(self, quote: str) -> Token:
        text = self.text
        line = self.line
        triple = text.startswith(quote * 3, self.pos)
        self.pos += 3 if triple else 1
        out: list[str] = []
        while self.pos < len(text):
            ch = text[self.pos]
            if triple and text.startswith(quote * 3, self.pos):
                self.pos += 3
                return Token("string", "".join(out), line, quote == '"')
            if not triple and ch == quote:
                self.pos += 1
                return Token("string", "".join(out), line, quote == '"')
            if not triple and ch == "\n":
                self.errors.append((f"unterminated string starting at line {line}", line))
                return Token("string", "".join(out), line, quote == '"')
            if ch == "\\" and self.pos + 1 < len(text):
                out.append(text[self.pos:self.pos + 2])  # escapes are decoded later, per quoting
                self._skip_to(self.pos + 2)
                continue
            if quote == '"' and text.startswith("${", self.pos):
                end = self._gstring_expression_end()
                out.append(text[self.pos:end])
                self._skip_to(end)
                continue
            out.append(ch)
            if ch == "\n":
                self.line += 1
            self.pos += 1
        self.errors.append((f"unterminated {'triple-quoted ' if triple else ''}string starting at line {line}", line))
        return Token("string", "".join(out), line, quote == '"')

    def _gstring_expression_end(self) -> int:
        """End of a `${...}` inside a GString: braces nest, and nested quotes may hold braces."""
        text = self.text
        depth = 0
        pos = self.pos + 1
        quote = ""
        while pos < len(text):
            ch = text[pos]
            if quote:
                if ch == "\\":
                    pos += 1
                elif ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        return len(text)


def _decode(token: Token) -> str:
    """The string's value with Groovy escapes decoded; `\\$` stays `\\$` in a GString for the interpolation step."""
    out: list[str] = []
    value = token.value
    index = 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"', "\n": ""}
    while index < len(value):
        ch = value[index]
        if ch == "\\" and index + 1 < len(value):
            nxt = value[index + 1]
            if nxt == "$":
                out.append("\\$" if token.gstring else "$")
            else:
                out.append(simple.get(nxt, "\\" + nxt))
            index += 2
            continue
        out.append(ch)
        index += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------- matcher


@dataclass
class _Value:
    """A Groovy argument as far as it can be known: text, or why not."""

    text: str
    line: int
    missing: list[str]


class _Matcher:
    def __init__(self, inp: InputFile, tokens: list[Token], overrides: dict[str, str]) -> None:
        self.inp = inp
        self.tokens = tokens
        self.overrides = overrides
        self.env: dict[str, str | None] = {}
        # Registries opened by docker.withRegistry / agent registryUrl, by the brace depth they close at.
        self.registries: list[tuple[int, str]] = []
        self.block_end = 0

    def source(self, line: int) -> Source:
        return self.inp.source(line=line, parser=NAME)

    def lookup(self, name: str) -> str | None:
        if name in self.overrides:
            return self.overrides[name]
        return self.env.get(name)

    def evidence(self) -> Iterator[Evidence]:
        tokens = self.tokens
        depth = 0
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.value == "{" and token.kind == "punct":
                depth += 1
            elif token.value == "}" and token.kind == "punct":
                depth -= 1
                while self.registries and self.registries[-1][0] > depth:
                    self.registries.pop()
            if token.kind != "ident":
                index += 1
                continue
            nxt = self._at(index + 1)
            name = token.value
            if name == "environment" and nxt is not None and nxt.value == "{":
                index = self._environment(index + 2)
                continue
            if nxt is not None and nxt.value == "=" and self._is_assignment(index):
                self._assignment(index)
            if name == "env" and nxt is not None and nxt.value == "." and self._at(index + 3) is not None \
                    and self._at(index + 3).value == "=":  # type: ignore[union-attr]
                self._assignment(index + 2)
            if name == "docker" and nxt is not None:
                if nxt.value == ".":
                    yield from self._docker_method(index + 2, depth)
                elif nxt.kind == "string":
                    yield from self._image(self._value(index + 1), "agent docker")
                elif nxt.value in ("{", "("):
                    yield from self._agent_block(index + 2, "docker", "}" if nxt.value == "{" else ")")
                    index = self.block_end + 1  # the block is read: its `image` must not count twice
                    continue
            elif name in ("dockerfile", "dockerContainer") and nxt is not None and nxt.value in ("{", "("):
                yield from self._agent_block(index + 2, name, "}" if nxt.value == "{" else ")")
                index = self.block_end + 1
                continue
            elif name == "withDockerRegistry" and nxt is not None and nxt.value == "(":
                yield from self._with_docker_registry(index + 2, depth)
            elif name in _SCRIPT_STEPS and nxt is not None:
                yield from self._script_step(index + 1, name)
            elif name == "image" and nxt is not None and nxt.value == ":":
                yield from self._image(self._value(index + 2), "image:")
            elif name == "yaml" and nxt is not None:
                start = index + 2 if nxt.value in (":", "(") else index + 1
                yield from self._pod_yaml(self._value(start))
            index += 1

    def _is_assignment(self, index: int) -> bool:
        """`NAME = value`, not `NAME == value` nor `a != NAME`, `a <= NAME` ..."""
        after = self._at(index + 2)
        before = self._at(index - 1)
        if after is None or after.value in ("=", "~"):
            return False
        return before is None or before.value not in ("=", "!", "<", ">", ".")

    def _at(self, index: int) -> Token | None:
        return self.tokens[index] if 0 <= index < len(self.tokens) else None

    def _value(self, index: int) -> _Value | None:
        """The argument at INDEX: a string (GString interpolated), a known variable, or an unresolved text."""
        token = self._at(index)
        if token is None:
            return None
        if token.kind == "ident" and token.value not in ("true", "false", "null"):
            expression = self._expression_text(index)
            value = self.lookup(token.value) if expression == token.value else None
            if value is None:
                return _Value(expression, token.line, [expression])
            return _Value(value, token.line, [])
        if token.kind != "string":
            return None
        after = self._at(index + 1)
        text = _decode(token)
        if after is not None and after.value == "+":
            return _Value(text + " + ...", token.line, ["string concatenation"])
        if not token.gstring:
            return _Value(text, token.line, [])
        return self._interpolate(text, token.line)

    def _expression_text(self, index: int) -> str:
        """The Groovy expression an argument holds, as written (up to the next `,` or closing bracket)."""
        parts: list[str] = []
        depth = 0
        first_line = self.tokens[index].line
        while (token := self._at(index)) is not None and len(parts) < 40 and token.line == first_line:
            if token.kind == "punct" and token.value in "([{":
                depth += 1
            elif token.kind == "punct" and token.value in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif token.value == "," and depth == 0:
                break
            parts.append(f"'{token.value}'" if token.kind == "string" else token.value)
            index += 1
        return "".join(parts)

    def _interpolate(self, text: str, line: int) -> _Value:
        missing = [m.group(0) for m in _GROOVY_EXPR_RE.finditer(text)
                   if not _ENV_PROPERTY_RE.fullmatch(m.group(0))]
        text = _ENV_PROPERTY_RE.sub(lambda m: "${" + (m.group(1) or m.group(2)) + "}", text)
        if missing:
            return _Value(text.replace("\\$", "$"), line, missing)
        result = interpolate(text, self.lookup, dialect="shell")
        if not result.complete:
            return _Value(text.replace("\\$", "$"), line, [f"${name}" for name in result.missing] + result.errors)
        return _Value(result.text, line, [])

    def _assignment(self, index: int) -> None:
        """`NAME = 'literal'` (also `def NAME = ...`, `env.NAME = ...`): a value later strings may use."""
        name = self.tokens[index].value
        value = self._value(index + 2)
        after = self._at(index + 3)
        if value is None or (after is not None and after.value in (".", "(", "?")):
            self.env[name] = None
            return
        self.env[name] = value.text if not value.missing else None

    def _environment(self, index: int) -> int:
        depth = 1
        while index < len(self.tokens) and depth > 0:
            token = self.tokens[index]
            if token.value == "{":
                depth += 1
            elif token.value == "}":
                depth -= 1
            elif token.kind == "ident" and depth == 1 and self._at(index + 1) is not None \
                    and self._at(index + 1).value == "=":  # type: ignore[union-attr]
                self._assignment(index)
            index += 1
        return index

    def _matching(self, index: int, closer: str) -> int:
        opener = "{" if closer == "}" else "("
        depth = 1
        # Arguments and agent blocks are short: a bounded look-ahead keeps hostile nesting linear.
        limit = min(len(self.tokens), index + _MAX_SPAN)
        while index < limit:
            value = self.tokens[index].value
            if self.tokens[index].kind == "punct":
                if value == opener:
                    depth += 1
                elif value == closer:
                    depth -= 1
                    if depth == 0:
                        return index
            index += 1
        return index

    def _agent_block(self, index: int, kind: str, closer: str) -> Iterator[Evidence]:
        end = self.block_end = self._matching(index, closer)
        image: _Value | None = None
        registry: _Value | None = None
        position = index
        while position < end:
            token = self.tokens[position]
            if token.kind == "ident" and token.value in ("image", "registryUrl"):
                target = position + 2 if self._at(position + 1) and self._at(position + 1).value == ":" \
                    else position + 1  # type: ignore[union-attr]
                value = self._value(target)
                if token.value == "image":
                    image = value
                else:
                    registry = value
            position += 1
        host = None
        if registry is not None:
            result = self._registry(registry, f"agent {kind} registryUrl", HostPurpose.REGISTRY_URL)
            yield result
            if isinstance(result, HostReference):
                host = result.host
        if image is not None and kind != "dockerfile":
            yield from self._image(image, f"agent {kind}", host)

    def _registry(self, value: _Value, context: str, purpose: HostPurpose) -> Evidence:
        if value.missing:
            return Unresolved(value.text, f"unresolved: {', '.join(value.missing)}", self.source(value.line), context)
        if not value.text.strip():
            return HostReference(normalize_registry_host(DEFAULT_DOMAIN), purpose, value.text, self.source(value.line),
                                 f"{context} (empty: Docker Hub)")
        return HostReference(normalize_registry_host(value.text), purpose, value.text, self.source(value.line),
                             context)

    def _docker_method(self, index: int, depth: int) -> Iterator[Evidence]:
        method = self._at(index)
        paren = self._at(index + 1)
        if method is None or paren is None:
            return
        if paren.value != "(":
            # Groovy command syntax, `docker.build imageName`: one argument, no parentheses.
            if method.value in ("image", "build") and paren.kind in ("string", "ident") \
                    and paren.line == method.line:
                registry = self.registries[-1][1] if self.registries else None
                yield from self._image(self._value(index + 1), f"docker.{method.value}", registry)
            return
        value = self._value(index + 2)
        if method.value == "withRegistry":
            if value is None:
                return
            result = self._registry(value, "docker.withRegistry", HostPurpose.REGISTRY_URL)
            yield result
            close = self._matching(index + 2, ")")
            following = self._at(close + 1)
            if isinstance(result, HostReference) and following is not None and following.value == "{":
                self.registries.append((depth + 1, value.text))
        elif method.value in ("image", "build") and value is not None:
            close = self._matching(index + 2, ")")
            use = self._at(close + 2) if self._at(close + 1) and self._at(close + 1).value == "." else None
            context = f"docker.{method.value}()" + (f".{use.value}" if use is not None and use.kind == "ident" else "")
            registry = self.registries[-1][1] if self.registries else None
            yield from self._image(value, context, registry)

    def _with_docker_registry(self, index: int, depth: int) -> Iterator[Evidence]:
        """`withDockerRegistry([url: '...', credentialsId: '...']) { ... }` (also `registry: [url: ...]`)."""
        close = self._matching(index, ")")
        for position in range(index, close):
            token = self.tokens[position]
            colon = self._at(position + 1)
            if token.kind == "ident" and token.value == "url" and colon is not None and colon.value == ":":
                value = self._value(position + 2)
                if value is None:
                    return
                result = self._registry(value, "withDockerRegistry url", HostPurpose.REGISTRY_URL)
                yield result
                following = self._at(close + 1)
                if isinstance(result, HostReference) and following is not None and following.value == "{":
                    self.registries.append((depth + 1, value.text))
                return

    def _image(self, value: _Value | None, context: str, registry: str | None = None) -> Iterator[Evidence]:
        if value is None:
            return
        source = self.source(value.line)
        if value.missing:
            yield Unresolved(value.text, f"unresolved: {', '.join(dict.fromkeys(value.missing))}", source, context)
            return
        text = value.text.strip()
        if registry:
            host = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", registry).split("/", 1)[0]
            domain, _rest = split_docker_domain(text)
            if host and domain == DEFAULT_DOMAIN and not text.startswith(("docker.io/", "index.docker.io/")):
                text = f"{host}/{text}"
                context += f" (registry {host})"
        yield image_evidence(text, source, context)

    def _script_step(self, index: int, step: str) -> Iterator[Evidence]:
        token = self._at(index)
        if token is None:
            return
        target = index
        if token.value == "(":
            target = index + 1
            close = self._matching(index + 1, ")")
            for position in range(index + 1, close):
                current = self.tokens[position]
                if current.kind == "ident" and current.value == "script" and self._at(position + 1) is not None \
                        and self._at(position + 1).value == ":":  # type: ignore[union-attr]
                    target = position + 2
                    break
        elif token.kind == "ident" and token.value == "script" and self._at(index + 1) is not None \
                and self._at(index + 1).value == ":":  # type: ignore[union-attr]
            target = index + 2
        string = self._at(target)
        if string is None or string.kind != "string":
            return
        text = _decode(string)
        if string.gstring:
            # Groovy runs first: `${env.X}` and `\$` reach the shell as `${X}` and `$`.
            text = _ENV_PROPERTY_RE.sub(lambda m: "${" + (m.group(1) or m.group(2)) + "}", text)
            text = text.replace("\\$", "$")
        yield from scan_script(text, string.line, self.source, self.lookup, context=step)

    def _pod_yaml(self, value: _Value | None) -> Iterator[Evidence]:
        """A kubernetes agent's pod YAML: its `image:` lines."""
        if value is None or value.missing:
            return
        for match in _YAML_IMAGE_RE.finditer(value.text):
            line = value.line + value.text.count("\n", 0, match.start(1))
            yield image_evidence(match.group(1), self.source(line), "kubernetes agent yaml image")

