"""A small Go-template evaluator of regaudit's own, for the image lines of Helm chart templates.

The helm binary cannot run here, and a chart template is not YAML until rendered. This evaluator renders what
charts usually write around images and marks everything else as unknown instead of guessing:
- actions `{{ }}` with `{{-`/`-}}` trimming and `{{/* */}}` comments; `if`/`else if`/`else`, `with`/`else`,
  `range` over lists and maps, `define` (collected from every template of the chart), `template`, `include`;
- values: `.`, `$`, `.Values.a.b`, `.Chart.AppVersion` (`Name`, `Version`), `.Release.Name` and
  `.Release.Namespace` (as `helm template` sets them: `release-name`, `default`), `$var := ...`, `$var = ...`,
  string/number/bool literals, `( )`, pipelines `|`;
- functions charts use to build image names: `default`, `coalesce`, `printf`, `print`, `quote`, `squote`,
  `toString`, `trim`, `trimPrefix`, `trimSuffix`, `lower`, `upper`, `replace`, `trunc`, `contains`, `hasPrefix`,
  `hasSuffix`, `not`, `and`, `or`, `eq`, `ne`, `empty`, `ternary`, `required`, `dict`, `list`, `get`, `hasKey`,
  `merge`, `mergeOverwrite`, `toYaml`, `nindent`, `indent`, `toJson`, `int`.
Anything else (`tpl`, `lookup`, `.Capabilities`, `semverCompare`, unknown functions, an include of a template
the chart does not define) evaluates to Unknown, which renders as a marker the caller turns into an Unresolved
reference with the reason; a condition that is Unknown counts as false. Rendering is bounded (output size,
include depth, loop iterations, steps), so a hostile template cannot run away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_OUTPUT = 4 * 1024 * 1024
MAX_INCLUDE_DEPTH = 24
MAX_STEPS = 200_000
MAX_BLOCK_DEPTH = 100
MAX_PAREN_DEPTH = 32
MARKER = "REGAUDIT-UNRESOLVED-"
MARKER_RE = re.compile(re.escape(MARKER) + r"(\d+)")

_TOKEN_RE = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<subfield>(?<=\))(?:\.[A-Za-z0-9_]+)+)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<assign>:=|=)
  | (?P<punct>[()|,])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
)""", re.VERBOSE)


class TemplateError(ValueError):
    """A template regaudit cannot even parse (unbalanced blocks, a broken action), at a template line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Unknown:
    reason: str


class _Budget(Exception):
    pass


# -- parsing ---------------------------------------------------------------------------------------------------

@dataclass
class _Text:
    text: str
    line: int


@dataclass
class _Action:
    source: str
    line: int


@dataclass
class _Block:
    keyword: str  # if, with, range, define
    source: str  # the pipeline (or the name for define)
    line: int
    body: list[Any] = field(default_factory=list)
    branches: list[tuple[str, str, list[Any]]] = field(default_factory=list)  # (keyword, pipeline, body) else-ifs
    otherwise: list[Any] | None = None


def _action_end(text: str, start: int) -> int:
    """Index of the `}}` closing the action whose content starts at START, skipping quoted strings and comments;
    -1 when there is none. One forward pass: the scan of the whole text stays linear."""
    position = start
    length = len(text)
    while position < length:
        ch = text[position]
        if ch == "}" and text.startswith("}}", position):
            return position
        if ch == "/" and text.startswith("/*", position):
            end = text.find("*/", position + 2)
            if end < 0:
                return -1
            position = end + 2
            continue
        if ch == '"':
            position += 1
            while position < length and text[position] not in '"\n':
                position += 2 if text[position] == "\\" else 1
            position += 1
            continue
        if ch in "`'":
            end = text.find(ch, position + 1)
            if end < 0:
                return -1
            position = end + 1
            continue
        position += 1
    return -1


def _lex(text: str) -> Iterator[tuple[str, str, int]]:
    """('text', chunk, line) and ('action', source, line), with trim markers applied to the text around."""
    pos = 0
    line = 1
    trim_next = False
    while True:
        start = text.find("{{", pos)
        if start < 0:
            break
        content = start + 2
        trim_before = text.startswith("-", content) and text[content + 1:content + 2] in (" ", "\t", "\n", "\r")
        if trim_before:
            content += 1
        end = _action_end(text, content)
        if end < 0:
            raise TemplateError("an action {{ without its closing }}", line + text.count("\n", pos, start))
        chunk = text[pos:start]
        if trim_next:
            chunk = chunk.lstrip()
        if trim_before:
            chunk = chunk.rstrip()
        yield "text", chunk, line
        line += text.count("\n", pos, start)
        source = text[content:end]
        stripped = source.rstrip()
        trim_next = stripped == "-" or stripped.endswith((" -", "\t-", "\n-"))
        if trim_next:
            stripped = stripped[:-1]
        stripped = stripped.strip()
        if not (stripped.startswith("/*") and stripped.endswith("*/")):
            yield "action", stripped, line
        line += text.count("\n", start, end + 2)
        pos = end + 2
    rest = text[pos:]
    yield "text", rest.lstrip() if trim_next else rest, line


_KEYWORD_RE = re.compile(r"^([a-z]+)(?![A-Za-z0-9_])\s*(.*)$", re.DOTALL)


def _keyword(source: str) -> tuple[str, str]:
    """(leading word, the rest): Go's lexer ends a keyword at any non-identifier character (`with.Values.x`)."""
    match = _KEYWORD_RE.match(source)
    return (match.group(1), match.group(2).strip()) if match else ("", source)


def parse_template(text: str) -> tuple[list[Any], dict[str, list[Any]]]:
    """The node tree of TEXT and the templates it defines."""
    root: list[Any] = []
    defines: dict[str, list[Any]] = {}
    stack: list[_Block] = []

    def body() -> list[Any]:
        if not stack:
            return root
        block = stack[-1]
        if block.otherwise is not None:
            return block.otherwise
        return block.branches[-1][2] if block.branches else block.body

    for kind, value, line in _lex(text):
        if kind == "text":
            if value:
                body().append(_Text(value, line))
            continue
        word, rest = _keyword(value)
        if word in ("if", "with", "range", "define", "block"):
            if len(stack) >= MAX_BLOCK_DEPTH:
                raise TemplateError(f"blocks nested deeper than {MAX_BLOCK_DEPTH} levels", line)
            stack.append(_Block(word, rest, line))
        elif word == "else":
            if not stack or stack[-1].keyword == "define":
                raise TemplateError("else without if/with/range", line)
            block = stack[-1]
            sub, cond = _keyword(rest)
            if sub in ("if", "with"):
                block.branches.append((sub, cond.strip(), []))
            else:
                block.otherwise = []
        elif word == "end":
            if not stack:
                raise TemplateError("end without a block", line)
            block = stack.pop()
            if block.keyword in ("define", "block"):
                name = _string_literal(block.source.split(" ")[0]) if block.source else ""
                defines[name] = block.body
                if block.keyword == "block":  # a block is a define that is also executed in place
                    body().append(_Action(f"template {block.source}", block.line))
            else:
                body().append(block)
        else:
            body().append(_Action(value, line))
    if stack:
        raise TemplateError(f"{stack[-1].keyword} without end", stack[-1].line)
    return root, defines


def _string_literal(token: str) -> str:
    if token.startswith("`") and token.endswith("`"):
        return token[1:-1]
    if token.startswith('"'):
        try:
            return str(json.loads(token))
        except ValueError:
            return token.strip('"')
    return token


# -- evaluation ------------------------------------------------------------------------------------------------

def _truthy(value: Any) -> bool:
    if isinstance(value, Unknown):
        return False
    return bool(value) if value is not None else False


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return _go_print(value)
    return str(value)


def _go_print(value: Any) -> str:
    if isinstance(value, dict):
        pairs = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "map[" + " ".join(f"{k}:{_go_print(v)}" for k, v in pairs) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_print(v) for v in value) + "]"
    return _text_of(value)


def _field(value: Any, names: list[str]) -> Any:
    for name in names:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, dict):
            value = value.get(name)
        elif value is None:
            return None
        else:
            return Unknown(f"field .{name} of a {type(value).__name__}")
    return value


def _merge(dest: Any, *sources: Any, overwrite: bool = False) -> Any:
    """sprig's merge: keys already in DEST win (mergeOverwrite: later sources win); nested maps merged."""
    if any(isinstance(v, Unknown) for v in (dest, *sources)):
        return next(v for v in (dest, *sources) if isinstance(v, Unknown))
    result = dict(dest) if isinstance(dest, dict) else {}
    for source in sources:
        if not isinstance(source, dict):
            continue
        for key, value in source.items():
            if key in result and isinstance(result[key], dict) and isinstance(value, dict):
                result[key] = _merge(value, result[key]) if overwrite else _merge(result[key], value)
            elif key not in result or overwrite or result[key] is None:
                result[key] = value
    return result


def _printf(fmt: Any, *args: Any) -> Any:
    if not isinstance(fmt, str):
        return Unknown("printf with a format that is not a string")
    values = iter(args)
    out: list[str] = []

    def verb(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        try:
            return _text_of(next(values))
        except StopIteration:
            return "%!" + match.group(1) + "(MISSING)"
    out.append(re.sub(r"%[-+# 0-9.]*([svdqtfgx])|%%", verb, fmt))
    return "".join(out)


def _to_yaml(value: Any) -> str:
    if value is None:
        return "null"
    return yaml.safe_dump(_plain(value), default_flow_style=False, sort_keys=True).rstrip("\n")


def _plain(value: Any) -> Any:
    """LineStr/LineDict from the loader as plain str/dict, for yaml.safe_dump."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _indent(width: Any, text: Any, newline: bool) -> Any:
    if not isinstance(width, int):
        return Unknown("indent width is not a number")
    pad = " " * width
    body = "\n".join(pad + line for line in _text_of(text).split("\n"))
    return ("\n" + body) if newline else body


def _strict(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        unknown = next((a for a in args if isinstance(a, Unknown)), None)
        return unknown if unknown is not None else function(*args)
    return call


def _default(fallback: Any, *given: Any) -> Any:
    value = given[0] if given else None
    if isinstance(value, Unknown):
        return value
    return value if _truthy(value) else fallback


def _coalesce(*values: Any) -> Any:
    for value in values:
        if isinstance(value, Unknown):
            return value
        if _truthy(value):
            return value
    return None


def _dict(*pairs: Any) -> Any:
    return {_text_of(pairs[i]): pairs[i + 1] if i + 1 < len(pairs) else "" for i in range(0, len(pairs), 2)}


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "default": _default,
    "coalesce": _coalesce,
    "printf": _strict(_printf),
    "print": _strict(lambda *a: "".join(_text_of(v) for v in a)),
    "quote": _strict(lambda *a: " ".join(json.dumps(_text_of(v)) for v in a)),
    "squote": _strict(lambda *a: " ".join(f"'{_text_of(v)}'" for v in a)),
    "toString": _strict(lambda v: _text_of(v)),
    "trim": _strict(lambda v: _text_of(v).strip()),
    "trimPrefix": _strict(lambda p, v: _text_of(v).removeprefix(_text_of(p))),
    "trimSuffix": _strict(lambda s, v: _text_of(v).removesuffix(_text_of(s))),
    "lower": _strict(lambda v: _text_of(v).lower()),
    "upper": _strict(lambda v: _text_of(v).upper()),
    "replace": _strict(lambda old, new, v: _text_of(v).replace(_text_of(old), _text_of(new))),
    "trunc": _strict(lambda n, v: _text_of(v)[:n] if isinstance(n, int) and n >= 0 else _text_of(v)),
    "contains": _strict(lambda sub, v: _text_of(sub) in _text_of(v)),
    "hasPrefix": _strict(lambda p, v: _text_of(v).startswith(_text_of(p))),
    "hasSuffix": _strict(lambda s, v: _text_of(v).endswith(_text_of(s))),
    "not": _strict(lambda v: not _truthy(v)),
    "and": lambda *a: next((v for v in a if isinstance(v, Unknown) or not _truthy(v)), a[-1] if a else None),
    "or": lambda *a: next((v for v in a if isinstance(v, Unknown) or _truthy(v)), a[-1] if a else None),
    "eq": _strict(lambda a, *b: any(_text_of(a) == _text_of(x) for x in b)),
    "ne": _strict(lambda a, b: _text_of(a) != _text_of(b)),
    "empty": _strict(lambda v: not _truthy(v)),
    "ternary": lambda yes, no, cond: cond if isinstance(cond, Unknown) else (yes if _truthy(cond) else no),
    "required": lambda _msg, v: v,
    "dict": _dict,
    "list": lambda *a: list(a),
    "get": _strict(lambda m, k: m.get(_text_of(k), "") if isinstance(m, dict) else ""),
    "hasKey": _strict(lambda m, k: isinstance(m, dict) and _text_of(k) in m),
    "merge": _merge,
    "mergeOverwrite": lambda dest, *src: _merge(dest, *src, overwrite=True),
    "toYaml": _strict(_to_yaml),
    "toJson": _strict(lambda v: json.dumps(_plain(v), sort_keys=True)),
    "nindent": _strict(lambda w, t: _indent(w, t, True)),
    "indent": _strict(lambda w, t: _indent(w, t, False)),
    "int": _strict(lambda v: int(float(v)) if _text_of(v).replace(".", "", 1).lstrip("-").isdigit() else 0),
}


class Renderer:
    """Renders templates of one chart: DEFINES from all its templates, ROOT the top-level dot."""

    def __init__(self, defines: dict[str, list[Any]], root: dict[str, Any]) -> None:
        self.defines = defines
        self.root = root
        self.unknowns: list[str] = []
        self.steps = 0
        self.size = 0
        self.depth = 0

    # the marker names the reason; the caller turns a marker inside an image into an Unresolved reference
    def marker(self, unknown: Unknown) -> str:
        if unknown.reason in self.unknowns:
            return f"{MARKER}{self.unknowns.index(unknown.reason)}"
        self.unknowns.append(unknown.reason)
        return f"{MARKER}{len(self.unknowns) - 1}"

    def render(self, nodes: list[Any]) -> tuple[str, list[tuple[int, int]]]:
        """The text and, for each emitted chunk, (offset in the output, template line it came from)."""
        out: list[str] = []
        lines: list[tuple[int, int]] = []
        try:
            self._run(nodes, self.root, {"$": self.root}, out, lines)
        except _Budget as exc:
            out.append(f"\n# {self.marker(Unknown(str(exc)))}\n")
        except RecursionError:  # includes of deeply nested blocks: stop here, what was rendered is kept
            out.append(f"\n# {self.marker(Unknown('templates nested too deeply to evaluate'))}\n")
        return "".join(out), lines

    def _emit(self, text: str, line: int, out: list[str], lines: list[tuple[int, int]]) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise _Budget(f"rendered output over {MAX_OUTPUT} bytes")
        lines.append((lines[-1][0] + len(out[-1]) if lines else sum(len(t) for t in out), line))
        out.append(text)

    def _tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _Budget(f"template evaluation over {MAX_STEPS} steps")

    def _run(self, nodes: list[Any], dot: Any, variables: dict[str, Any], out: list[str],
             lines: list[tuple[int, int]]) -> None:
        for node in nodes:
            self._tick()
            if isinstance(node, _Text):
                self._emit(node.text, node.line, out, lines)
            elif isinstance(node, _Action):
                value = self._action(node.source, dot, variables)
                if value is not None:
                    text = self.marker(value) if isinstance(value, Unknown) else _text_of(value)
                    self._emit(text, node.line, out, lines)
            elif isinstance(node, _Block):
                self._block(node, dot, variables, out, lines)

    def _block(self, block: _Block, dot: Any, variables: dict[str, Any], out: list[str],
               lines: list[tuple[int, int]]) -> None:
        scope = dict(variables)
        if block.keyword == "range":
            self._range(block, dot, scope, out, lines)
            return
        for keyword, source, body in [(block.keyword, block.source, block.body), *block.branches]:
            value = self._pipeline(source, dot, scope)
            if _truthy(value):
                self._run(body, value if keyword == "with" else dot, scope, out, lines)
                self._copy_back(scope, variables)
                return
        if block.otherwise is not None:
            self._run(block.otherwise, dot, scope, out, lines)
            self._copy_back(scope, variables)

    @staticmethod
    def _copy_back(scope: dict[str, Any], variables: dict[str, Any]) -> None:
        for name in variables:  # `$x = ...` inside a block changes the outer variable, as in Go
            variables[name] = scope[name]

    def _range(self, block: _Block, dot: Any, scope: dict[str, Any], out: list[str],
               lines: list[tuple[int, int]]) -> None:
        source = block.source
        names: list[str] = []
        assign = re.match(r"^(\$\w*)\s*(?:,\s*(\$\w*)\s*)?:=\s*(.*)$", source, re.DOTALL)
        if assign:
            names = [n for n in assign.group(1, 2) if n]
            source = assign.group(3)
        value = self._pipeline(source, dot, scope)
        if isinstance(value, Unknown):
            self._emit(self.marker(value), block.line, out, lines)
            return
        items: list[tuple[Any, Any]]
        if isinstance(value, dict):
            items = sorted(value.items(), key=lambda kv: str(kv[0]))
        elif isinstance(value, list):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(max(0, min(value, 10_000)))]
        else:
            items = []
        if not items and block.otherwise is not None:
            self._run(block.otherwise, dot, scope, out, lines)
        for key, item in items:
            if len(names) == 1:
                scope[names[0]] = item
            elif len(names) == 2:
                scope[names[0]], scope[names[1]] = key, item
            self._run(block.body, item, scope, out, lines)

    def _action(self, source: str, dot: Any, variables: dict[str, Any]) -> Any:
        assign = re.match(r"^(\$\w+)\s*(:=|=)\s*(.*)$", source, re.DOTALL)
        if assign:
            variables[assign.group(1)] = self._pipeline(assign.group(3), dot, variables)
            return None
        word, rest = _keyword(source)
        if word == "template":
            return self._include(rest.strip(), dot, variables)
        return self._pipeline(source, dot, variables)

    def _include(self, args_source: str, dot: Any, variables: dict[str, Any]) -> Any:
        args = self._arguments(_tokens(args_source), dot, variables)
        if not args:
            return Unknown("template without a name")
        return self.include(args[0], args[1] if len(args) > 1 else None)

    def include(self, name: Any, dot: Any) -> Any:
        if isinstance(name, Unknown):
            return name
        body = self.defines.get(_text_of(name))
        if body is None:
            return Unknown(f'include of "{_text_of(name)}", a template this chart does not define (a library chart '
                           "dependency?)")
        if self.depth >= MAX_INCLUDE_DEPTH:
            return Unknown(f"includes nested deeper than {MAX_INCLUDE_DEPTH}")
        self.depth += 1
        try:
            out: list[str] = []
            self._run(body, dot, {"$": dot}, out, [])  # `$` inside a template is the data it was given
        finally:
            self.depth -= 1
        return "".join(out)

    # -- pipelines -------------------------------------------------------------------------------------------

    def _pipeline(self, source: str, dot: Any, variables: dict[str, Any]) -> Any:
        return self._pipeline_tokens(_tokens(source), dot, variables)

    def _pipeline_tokens(self, tokens: list[tuple[str, str]], dot: Any, variables: dict[str, Any]) -> Any:
        if sum(1 for token in tokens if token == ("punct", "(")) > MAX_PAREN_DEPTH:
            return Unknown(f"an expression with more than {MAX_PAREN_DEPTH} parentheses")
        commands: list[list[tuple[str, str]]] = [[]]
        depth = 0
        for token in tokens:
            if token == ("punct", "|") and depth == 0:
                commands.append([])
                continue
            if token == ("punct", "("):
                depth += 1
            elif token == ("punct", ")"):
                depth -= 1
            commands[-1].append(token)
        value: Any = None
        piped = False
        for command in commands:
            value = self._command(command, dot, variables, (value,) if piped else ())
            piped = True
        return value

    def _command(self, tokens: list[tuple[str, str]], dot: Any, variables: dict[str, Any],
                 piped: tuple[Any, ...]) -> Any:
        self._tick()
        if not tokens:
            return Unknown("an empty command")
        kind, text = tokens[0]
        if kind == "ident" and text not in ("true", "false", "nil"):
            args = self._arguments(tokens[1:], dot, variables) + list(piped)
            if text == "include":
                return self.include(args[0], args[1] if len(args) > 1 else None) if args else Unknown("include")
            function = FUNCTIONS.get(text)
            if function is None:
                return Unknown(f"the template function {text}")
            try:
                return function(*args)
            except (TypeError, ValueError, IndexError, KeyError):
                return Unknown(f"{text} with arguments regaudit cannot evaluate")
        values = self._arguments(tokens, dot, variables)
        if piped:
            return Unknown("a value piped into a value")
        return values[0] if len(values) == 1 else Unknown("several values in one command")

    def _arguments(self, tokens: list[tuple[str, str]], dot: Any, variables: dict[str, Any]) -> list[Any]:
        values: list[Any] = []
        position = 0
        while position < len(tokens):
            kind, text = tokens[position]
            position += 1
            if kind == "punct" and text == "(":
                depth, start = 1, position
                while position < len(tokens) and depth:
                    if tokens[position] == ("punct", "("):
                        depth += 1
                    elif tokens[position] == ("punct", ")"):
                        depth -= 1
                    position += 1
                value = self._pipeline_tokens(tokens[start:position - 1], dot, variables)
                if position < len(tokens) and tokens[position][0] == "subfield":
                    value = _field(value, tokens[position][1].split(".")[1:])
                    position += 1
                values.append(value)
            elif kind == "str":
                values.append(_string_literal(text))
            elif kind == "char":
                values.append(ord(text[1]))
            elif kind == "num":
                values.append(float(text) if "." in text else int(text))
            elif kind == "ident":
                values.append({"true": True, "false": False, "nil": None}.get(text, Unknown(f"function {text} "
                                                                                            "as an argument")))
            elif kind == "field":
                values.append(dot if text == "." else self._root_field(dot, text.split(".")[1:]))
            elif kind == "var":
                name, *names = text.split(".")
                if name not in variables:
                    values.append(Unknown(f"undefined variable {name}"))
                else:
                    values.append(_field(variables[name], names) if names else variables[name])
            else:
                values.append(Unknown(f"unexpected {text!r}"))
        return values

    def _root_field(self, dot: Any, names: list[str]) -> Any:
        if names and names[0] == "Capabilities":
            return Unknown(".Capabilities (the cluster's versions and APIs are only known to helm)")
        if names and names[0] == "Files":
            return Unknown(".Files")
        return _field(dot, names)


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN_RE.match(source, position)
        if match is None or match.end() == position:
            tokens.append(("bad", source[position:]))
            break
        kind = match.lastgroup or "bad"
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens

