"""Reading Docker Buildx Bake files: a small HCL reader for what bake files use (blocks, attributes, strings with
`${}`, lists, objects, comments, heredocs), the JSON form, variables and `inherits`. Shared by the bake parser
(parsers/repo/bake.py) and the Dockerfile parser, which asks which named contexts a bake target gives a Dockerfile
(`COPY --from=NAME` naming a bake context is that context, not an image)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parsers.common.inputs import MAX_CONFIG_BYTES, decode_text

_MAX_INHERIT_DEPTH = 16
BAKE_NAME_RE = re.compile(r"^(?:docker-bake(?:\.[\w-]+)?|[\w.-]+\.bake)\.(?:hcl|json)$", re.IGNORECASE)
_MAX_PARENT_LEVELS = 3
_MAX_NESTING = 64

_TOKEN_RE = re.compile(r"""
    (?P<space>[ \t\r]+|\\\n)
  | (?P<newline>\n)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/|\Z))
  | (?P<heredoc><<-?(?P<tag>[A-Za-z_][A-Za-z0-9_]*)[ \t]*\n)
  | (?P<string>"(?:[^"\\\n$]|\\.|\$(?!\{)|\$\{(?:[^{}"]|"(?:[^"\\\n]|\\.)*")*\})*")
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<op>!=|==|<=|>=|&&|\|\||=>|\.\.\.|[!<>+\-*/%])
  | (?P<punct>[{}\[\](),=:?.])
""", re.VERBOSE)


class HclError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Expr:
    """An attribute value as written: a literal, a string template, a list, an object, or something unsupported."""

    kind: str  # "literal", "template", "list", "object", "unsupported"
    value: Any
    line: int


@dataclass
class Block:
    type: str
    labels: list[str]
    line: int
    attributes: dict[str, Expr] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position, line = 0, 1
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise HclError(f"unexpected character {text[position]!r}", line)
        kind = match.lastgroup or ""
        if kind == "tag":
            kind = "heredoc"
        raw = match.group(0)
        if kind == "heredoc":
            tag = match.group("tag")
            end = re.compile(rf"^[ \t]*{re.escape(tag)}[ \t]*$", re.MULTILINE).search(text, match.end())
            if end is None:
                raise HclError(f"heredoc <<{tag} is not closed", line)
            body = text[match.end():end.start()]
            tokens.append(("heredoc", body, line))
            line += raw.count("\n") + body.count("\n")
            position = end.end()
            continue
        if kind not in ("space", "comment"):
            tokens.append((kind, raw, line))
        line += raw.count("\n")
        position = match.end()
    tokens.append(("end", "", line))
    return tokens


class _HclParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.depth = 0  # nesting of blocks, lists and objects: bounded, so hostile nesting cannot exhaust the stack

    def nest(self, line: int) -> None:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise HclError(f"nested deeper than {_MAX_NESTING} levels", line)

    def peek(self, skip_newlines: bool = True) -> tuple[str, str, int]:
        if skip_newlines:
            while self.tokens[self.position][0] == "newline":
                self.position += 1
        return self.tokens[self.position]

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.position += 1
        return token

    def body(self, closing: str | None, into: Block, done: list[Block]) -> None:
        while True:
            kind, raw, line = self.peek()
            if kind == "end":
                if closing is not None:
                    raise HclError("a block is not closed (missing '}')", line)
                return
            if kind == "punct" and raw == closing:
                self.take()
                return
            if kind != "ident":
                raise HclError(f"expected an attribute or a block, found {raw!r}", line)
            self.take()
            after = self.peek(skip_newlines=False)
            if after[1] == "=":
                self.take()
                into.attributes[raw] = self.expression()
                continue
            labels = []
            while self.peek()[0] in ("string", "ident"):
                label_kind, label, _label_line = self.take()
                labels.append(_unquote(label) if label_kind == "string" else label)
            if self.peek()[1] != "{":
                raise HclError(f"expected '{{' after block {raw}", self.peek()[2])
            self.take()
            block = Block(raw, labels, line)
            self.nest(line)
            self.body("}", block, done)
            self.depth -= 1
            into.blocks.append(block)
            if closing is None:
                done.append(block)

    def expression(self) -> Expr:
        kind, raw, line = self.take()
        value: Expr
        if kind == "string":
            value = Expr("template", _unquote(raw), line)
        elif kind == "heredoc":
            value = Expr("template", raw, line)
        elif kind == "number":
            value = Expr("literal", raw, line)
        elif kind == "ident" and raw in ("true", "false", "null"):
            value = Expr("literal", {"true": True, "false": False, "null": None}[raw], line)
        elif raw == "[":
            self.nest(line)
            items = []
            while self.peek()[1] != "]":
                items.append(self.expression())
                if self.peek()[1] == ",":
                    self.take()
                elif self.peek()[1] != "]":
                    raise HclError("expected ',' or ']' in a list", self.peek()[2])
            self.take()
            self.depth -= 1
            value = Expr("list", items, line)
        elif raw == "{":
            self.nest(line)
            entries: dict[str, Expr] = {}
            while self.peek()[1] != "}":
                key_kind, key, key_line = self.take()
                if key_kind == "string":
                    key = _unquote(key)
                elif key_kind != "ident":
                    raise HclError(f"expected an object key, found {key!r}", key_line)
                if self.take()[1] not in ("=", ":"):
                    raise HclError("expected '=' or ':' after an object key", key_line)
                entries[key] = self.expression()
                if self.peek()[1] == ",":
                    self.take()
            self.take()
            self.depth -= 1
            value = Expr("object", entries, line)
        elif kind == "ident":
            value = Expr("unsupported", raw, line)  # a variable, a function call, a traversal
        else:
            raise HclError(f"unexpected {raw!r} in an expression", line)
        return self.rest_of_expression(value)

    def rest_of_expression(self, value: Expr) -> Expr:
        """Anything after a simple value (`(args)`, `.attr`, `? :`, operators) makes it unsupported."""
        depth = 0
        consumed = False
        written = [str(value.value) if value.kind != "template" else f'"{value.value}"']
        while True:
            kind, raw, _line = self.peek(skip_newlines=depth > 0)
            if kind == "end" or (depth == 0 and (kind == "newline" or raw in (",", "]", "}") or
                                                 (raw == ")" and depth == 0))):
                break
            if raw in ("(", "[", "{"):
                depth += 1
            elif raw in (")", "]", "}"):
                depth -= 1
            self.position += 1
            consumed = True
            written.append(raw + (" " if raw == "," else ""))
        if value.kind == "unsupported" and not consumed and re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", value.value):
            return Expr("variable", value.value, value.line)
        return Expr("unsupported", "".join(written)[:200], value.line) if consumed else value


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r'\\(["\\nrt])', lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), body)


def parse_hcl(text: str) -> tuple[list[Block], HclError | None]:
    """The top-level blocks of TEXT, and the syntax error that stopped reading (blocks before it are kept)."""
    done: list[Block] = []
    try:
        parser = _HclParser(text)
        parser.body(None, Block("", [], 1), done)
    except HclError as error:
        return done, error
    return done, None


def blocks_from_json(document: Any, line_of: Any) -> list[Block]:
    blocks: list[Block] = []
    if not isinstance(document, dict):
        return blocks
    for block_type in ("variable", "target", "group"):
        section = document.get(block_type)
        if not isinstance(section, dict):
            continue
        for label, attributes in section.items():
            block = Block(block_type, [str(label)], line_of(section, label))
            if isinstance(attributes, dict):
                block.attributes = {str(k): _json_expr(v, line_of(attributes, k)) for k, v in attributes.items()}
            blocks.append(block)
    return blocks


def _json_expr(value: Any, line: int) -> Expr:
    if isinstance(value, str):
        return Expr("template", value, getattr(value, "line", line))
    if isinstance(value, list):
        return Expr("list", [_json_expr(item, line) for item in value], line)
    if isinstance(value, dict):
        return Expr("object", {str(k): _json_expr(v, line) for k, v in value.items()}, line)
    return Expr("literal", value, line)


# -- evaluation ------------------------------------------------------------------------------------------------

_INTERPOLATION_RE = re.compile(r"\$\{\s*([^{}]*?)\s*\}")


@dataclass(frozen=True)
class Value:
    text: str | None  # None: not known
    why: str
    line: int
    null: bool = False  # HCL null: bake treats the attribute (a build arg) as not set


def evaluate(expr: Expr, variables: dict[str, Expr | str], depth: int = 0) -> Value:
    if expr.kind == "literal":
        if expr.value is None:
            return Value("", "", expr.line, null=True)
        return Value(str(expr.value).lower() if isinstance(expr.value, bool) else str(expr.value), "", expr.line)
    if expr.kind == "variable":
        return _variable(expr.value, variables, expr.line, depth)
    if expr.kind == "template":
        missing: list[str] = []

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", inner):
                missing.append(f"the expression ${{{inner}}} (bake evaluates it; regaudit does not)")
                return match.group(0)
            value = _variable(inner, variables, expr.line, depth)
            if value.text is None:
                missing.append(value.why)
                return match.group(0)
            return value.text
        text = _INTERPOLATION_RE.sub(replace, str(expr.value)).replace("$${", "${")
        return Value(None if missing else text, "; ".join(missing), expr.line)
    # a list or object holds nested Exprs: their repr recurses as deep as the input nests (fuzz campaign)
    shown = expr.value if isinstance(expr.value, str) else f"a {expr.kind}"
    return Value(None, f"an expression bake evaluates ({shown}); regaudit does not", expr.line)


def _variable(name: str, variables: dict[str, Expr | str], line: int, depth: int) -> Value:
    value = variables.get(name)
    if value is None:
        return Value(None, f"unset variable {name} (give it with --set {name}=VALUE)", line)
    if isinstance(value, str):
        return Value(value, "", line)
    if depth > 8:
        return Value(None, f"variable {name} refers to itself", line)
    return evaluate(value, variables, depth + 1)


def strings(expr: Expr | None) -> list[Expr]:
    if expr is None:
        return []
    return list(expr.value) if expr.kind == "list" else [expr]




def merge(base: dict[str, Expr], override: dict[str, Expr]) -> dict[str, Expr]:
    merged = dict(base)
    for key, value in override.items():
        if key in merged and merged[key].kind == "object" and value.kind == "object":
            merged[key] = Expr("object", {**merged[key].value, **value.value}, value.line)
        else:
            merged[key] = value
    return merged


class BakeProject:
    """The variables and targets of one bake file, with `inherits` resolved on request."""

    def __init__(self, blocks: list[Block], overrides: dict[str, str]) -> None:
        self.variables: dict[str, Expr | str] = {}
        self.targets: dict[str, Block] = {}
        for block in blocks:
            label = block.labels[0] if block.labels else ""
            if block.type == "variable" and label:
                default = block.attributes.get("default")
                self.variables[label] = default if default is not None else Expr("literal", "", block.line)
            elif block.type == "target" and label:
                if label in self.targets:  # a target defined twice: bake merges the definitions, later wins
                    self.targets[label].attributes.update(block.attributes)
                else:
                    self.targets[label] = block
        self.variables.update({k: v for k, v in overrides.items() if re.match(r"^[A-Za-z_][\w-]*$", k)})

    def resolved(self, name: str) -> tuple[dict[str, Expr], str]:
        """NAME's attributes with its `inherits` applied (maps merged, other values replaced), and a problem."""
        chain: list[str] = []
        problem = ""

        def visit(current: str, depth: int) -> dict[str, Expr]:
            nonlocal problem
            if current in chain or depth > _MAX_INHERIT_DEPTH:
                problem = f"inherits loops through {current}"
                return {}
            block = self.targets.get(current)
            if block is None:
                problem = f"inherits {current}, which no target here defines"
                return {}
            chain.append(current)
            merged: dict[str, Expr] = {}
            for parent in strings(block.attributes.get("inherits")):
                parent_name = evaluate(parent, self.variables).text
                if parent_name:
                    merged = merge(merged, visit(parent_name, depth + 1))
            chain.pop()
            return merge(merged, {k: v for k, v in block.attributes.items() if k != "inherits"})
        return visit(name, 0), problem

    def text(self, attributes: dict[str, Expr], key: str, default: str | None = None) -> str | None:
        expr = attributes.get(key)
        return default if expr is None else evaluate(expr, self.variables).text


def read_blocks(text: str, json_file: bool) -> tuple[list[Block], str | None, int | None]:
    """The blocks of a bake file's TEXT, and the syntax error (message, line) that stopped reading, if any."""
    if json_file:
        from parsers.common.json_positions import load_json
        result = load_json(text)
        blocks = blocks_from_json(result.value, lambda mapping, key: getattr(mapping, "line_of", lambda _k: 1)(key))
        return blocks, result.error, result.error_line
    blocks, error = parse_hcl(text)
    return blocks, (f"invalid HCL: {error}" if error else None), (error.line if error else None)


@functools.lru_cache(maxsize=32)
def _contexts_by_dockerfile(bake_path: str) -> dict[str, frozenset[str]]:
    path = Path(bake_path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return {}
        text = decode_text(path.read_bytes())[0]
    except OSError:
        return {}
    blocks, _error, _line = read_blocks(text, path.suffix.lower() == ".json")
    project = BakeProject(blocks, {})
    found: dict[str, set[str]] = {}
    for name in project.targets:
        attributes, _problem = project.resolved(name)
        contexts = attributes.get("contexts")
        context, dockerfile = project.text(attributes, "context", "."), project.text(attributes, "dockerfile",
                                                                                     "Dockerfile")
        if contexts is None or contexts.kind != "object" or context is None or dockerfile is None:
            continue
        target_file = (path.parent / context / dockerfile).resolve()
        found.setdefault(str(target_file), set()).update(contexts.value)
    return {key: frozenset(names) for key, names in found.items()}


@functools.lru_cache(maxsize=256)
def _bake_files_in(folder: str) -> tuple[str, ...]:
    """The bake files directly in FOLDER (cached: every Dockerfile of a walk asks about its folders)."""
    try:
        return tuple(sorted(str(p) for p in Path(folder).iterdir() if BAKE_NAME_RE.match(p.name) and p.is_file()))
    except OSError:
        return ()


def named_contexts_for(dockerfile: Path, root: Path | None) -> frozenset[str]:
    """The named contexts that bake files beside DOCKERFILE or above it (up to ROOT, at most a few levels) give
    it: a build through bake resolves `FROM NAME` / `COPY --from=NAME` to them."""
    names: set[str] = set()
    try:
        resolved = dockerfile.resolve()
        folder = resolved.parent
        stop = root.resolve() if root is not None else None
    except OSError:
        return frozenset()
    for _ in range(_MAX_PARENT_LEVELS + 1):
        for candidate in _bake_files_in(str(folder)):
            names.update(_contexts_by_dockerfile(candidate).get(str(resolved), frozenset()))
        if folder == stop or folder.parent == folder:
            break
        folder = folder.parent
    return frozenset(names)
