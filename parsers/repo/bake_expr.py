"""Evaluating the expressions of a bake file, never executing anything: variables with their defaults (and
`--set` overrides), `${}` interpolation, the operators and conditionals HCL has, bake's user `function` blocks,
and the pure string and list functions of bake's standard library that image names are built with (`join`,
`format`, `replace`, `lower`, `trimprefix`, `coalesce`, `notequal` ...).

What cannot be known offline (`timestamp()`, `regex_replace` with its own engine, `homedir()`, a `for`
expression, another target's attributes) is Unknown, carrying the reason and the text as far as it is known
(`ghcr.io/acme/app:${timestamp()}`), so the caller can still name the registry when the known part decides it
(auditor/core/reference.partial_reference) instead of guessing or dropping it. Evaluation is bounded (depth,
steps, string sizes), so a hostile file cannot run away.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 32
MAX_STEPS = 100_000
MAX_TEXT = 64 * 1024


@dataclass(frozen=True)
class Unknown:
    reason: str
    shown: str  # the text as far as it is known, unknown parts as `${...}`


@dataclass(frozen=True)
class Bound:
    """A function parameter's value (already evaluated), in the variables of a function's body."""

    value: Any


class _Budget(Exception):
    pass


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return ""
    return str(value)


def shown(value: Any) -> str:
    return value.shown if isinstance(value, Unknown) else text_of(value)


def _first_unknown(values: Any) -> Unknown | None:
    return next((v for v in values if isinstance(v, Unknown)), None)


def _format(fmt: Any, *args: Any) -> Any:
    """cty's format: %s %d %v %q %f and %%; an unknown argument keeps its place as `${...}`."""
    if not isinstance(fmt, str):
        return Unknown("format with a format that is not known", "${format(...)}")
    values = iter(args)
    unknown: list[Unknown] = []
    problems: list[str] = []

    def verb(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            problems.append("format has more verbs than arguments")
            return match.group(0)
        if isinstance(value, Unknown):
            unknown.append(value)
            return value.shown
        if match.group(1) == "q":
            return '"' + text_of(value) + '"'
        return text_of(value)
    text = re.sub(r"%[-+# 0-9.]*([svdqft])|%%", verb, fmt)
    if problems:
        return Unknown(problems[0], "${format(...)}")
    if unknown:
        return Unknown("; ".join(dict.fromkeys(u.reason for u in unknown)), text)
    return text


def _join(separator: Any, *lists: Any) -> Any:
    if isinstance(separator, Unknown):
        return separator
    items: list[Any] = []
    for value in lists:
        if isinstance(value, Unknown):
            return value
        if not isinstance(value, list):
            return Unknown("join of something that is not a list", "${join(...)}")
        items.extend(value)
    text = text_of(separator).join(shown(item) for item in items)
    unknown = [item for item in items if isinstance(item, Unknown)]
    return Unknown("; ".join(dict.fromkeys(u.reason for u in unknown)), text) if unknown else text


def _coalesce(*values: Any) -> Any:
    for value in values:
        if isinstance(value, Unknown):
            return value  # an unknown value might be the first non-empty one
        if value is not None and value != "":
            return value
    return Unknown("coalesce with no non-empty argument (bake fails)", "${coalesce(...)}")


def _substr(text: Any, offset: Any, length: Any) -> str:
    value = text_of(text)
    start = int(offset) if int(offset) >= 0 else max(len(value) + int(offset), 0)
    return value[start:] if int(length) < 0 else value[start:start + int(length)]


def _replace(text: Any, old: Any, new: Any) -> Any:
    pattern = text_of(old)
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        return Unknown("replace with a regular expression (Go's engine, not evaluated here)", "${replace(...)}")
    return text_of(text).replace(pattern, text_of(new))


def _element(items: Any, index: Any) -> Any:
    if not isinstance(items, list) or not items:
        raise ValueError("element of an empty or non-list value")
    return items[int(index) % len(items)]


_STRICT: dict[str, Callable[..., Any]] = {
    "lower": lambda v: text_of(v).lower(),
    "upper": lambda v: text_of(v).upper(),
    "title": lambda v: text_of(v).title(),
    "trimprefix": lambda v, p: text_of(v).removeprefix(text_of(p)),
    "trimsuffix": lambda v, s: text_of(v).removesuffix(text_of(s)),
    "trimspace": lambda v: text_of(v).strip(),
    "trim": lambda v, chars: text_of(v).strip(text_of(chars)),
    "chomp": lambda v: text_of(v).rstrip("\r\n"),
    "replace": _replace,
    "split": lambda sep, v: text_of(v).split(text_of(sep)),
    "substr": _substr,
    "concat": lambda *lists: [item for value in lists for item in value],
    "length": lambda v: len(v) if isinstance(v, (list, dict, str)) else 0,
    "element": _element,
    "contains": lambda items, v: isinstance(items, list) and v in items,
    "notequal": lambda a, b: a != b,
    "equal": lambda a, b: a == b,
    "and": lambda *a: all(bool(v) for v in a),
    "or": lambda *a: any(bool(v) for v in a),
    "not": lambda v: not v,
    "tostring": text_of,
    "tonumber": lambda v: float(v) if "." in text_of(v) else int(text_of(v)),
    "tobool": lambda v: text_of(v) == "true",
    "distinct": lambda items: list(dict.fromkeys(items)),
    "flatten": lambda items: [x for v in items for x in (v if isinstance(v, list) else [v])],
    "reverse": lambda items: list(reversed(items)),
    "lookup": lambda mapping, key, *default: mapping.get(text_of(key), *default[:1]) if default
    else mapping[text_of(key)],
    "sanitize": lambda v: re.sub(r"[^A-Za-z0-9]", "_", text_of(v)),
}
_LENIENT: dict[str, Callable[..., Any]] = {"format": _format, "join": _join, "coalesce": _coalesce}
_UNKNOWABLE = {
    "timestamp": "the time the build runs", "formatdate": "a date bake computes when it runs",
    "homedir": "the home directory of whoever runs bake", "uuid": "a random value", "regex": "Go's regex engine",
    "regex_replace": "Go's regex engine", "regexall": "Go's regex engine",
}


def _operator(op: str, values: list[Any]) -> Any:
    if len(values) == 1:
        value = values[0]
        return (not value) if op == "!" else -float(value)
    left, right = values
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "&&":
        return bool(left) and bool(right)
    if op == "||":
        return bool(left) or bool(right)
    a, b = float(left), float(right)
    result: Any = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b, "+": a + b, "-": a - b, "*": a * b,
                   "/": a / b if b else None, "%": a % b if b else None}[op]
    if result is None:
        raise ValueError("division by zero")
    return int(result) if isinstance(result, float) and result.is_integer() else result


class Evaluator:
    """Evaluates Expr trees (parsers/repo/bake_file.py) against variables and user functions."""

    def __init__(self, variables: dict[str, Any], functions: dict[str, tuple[list[str], str | None, Any]],
                 parse_template_part: Callable[[str], Any]) -> None:
        self.variables = variables
        self.functions = functions
        self.parse_part = parse_template_part
        self.steps = 0
        self.active: list[str] = []

    def value(self, expr: Any, scope: dict[str, Any] | None = None, depth: int = 0) -> Any:
        try:
            return self._eval(expr, scope or {}, depth)
        except _Budget:
            return Unknown(f"an expression that takes more than {MAX_STEPS} steps to evaluate", "${...}")

    def _eval(self, expr: Any, scope: dict[str, Any], depth: int) -> Any:
        result = self._eval_kind(expr, scope, depth)
        if isinstance(result, Unknown) and result.shown in ("${...}", "") and getattr(expr, "source", ""):
            return Unknown(result.reason, "${" + expr.source + "}")
        return result

    def _eval_kind(self, expr: Any, scope: dict[str, Any], depth: int) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS or depth > MAX_DEPTH:
            raise _Budget
        kind, value = expr.kind, expr.value
        if kind == "literal":
            return value
        if kind == "template":
            return self._template(value, scope, depth)
        if kind == "variable":
            return self._variable(value, scope, depth)
        if kind == "list":
            return [self._eval(item, scope, depth + 1) for item in value]
        if kind == "object":
            return {key: self._eval(item, scope, depth + 1) for key, item in value.items()}
        if kind == "call":
            return self._call(*value, scope=scope, depth=depth)
        if kind == "op":
            op, operands = value
            values = [self._eval(item, scope, depth + 1) for item in operands]
            unknown = _first_unknown(values)
            if unknown is not None:
                return Unknown(unknown.reason, "${...}")
            try:
                return _operator(op, values)
            except (TypeError, ValueError, KeyError):
                return Unknown(f"the operator {op} on values bake would refuse", "${...}")
        if kind == "cond":
            condition = self._eval(value[0], scope, depth + 1)
            if isinstance(condition, Unknown):
                return Unknown(condition.reason, "${...}")
            return self._eval(value[1] if condition else value[2], scope, depth + 1)
        if kind == "for":
            return self._for(value, scope, depth)
        if kind == "get":
            base = self._eval(value[0], scope, depth + 1)
            key = value[1] if isinstance(value[1], str) else self._eval(value[1], scope, depth + 1)
            if isinstance(base, Unknown) or isinstance(key, Unknown):
                return base if isinstance(base, Unknown) else key
            if isinstance(base, dict) and text_of(key) in base:
                return base[text_of(key)]
            if isinstance(base, list) and not isinstance(key, str | bool) and isinstance(key, int | float):
                index = int(key)
                if 0 <= index < len(base):
                    return base[index]
            return Unknown("an index or attribute regaudit cannot follow", "${...}")
        return Unknown(f"an expression bake evaluates ({value}); regaudit does not", f"${{{value}}}")

    def _for(self, value: Any, scope: dict[str, Any], depth: int) -> Any:
        names, collection_expr, body, condition = value
        collection = self._eval(collection_expr, scope, depth + 1)
        if isinstance(collection, Unknown):
            return collection
        if isinstance(collection, dict):
            pairs = list(collection.items())
        elif isinstance(collection, list):
            pairs = list(enumerate(collection))
        else:
            return Unknown("a for expression over something that is not a list or object", "${...}")
        items: list[Any] = []
        for key, item in pairs:
            inner = dict(scope)
            if len(names) == 2:
                inner[names[0]], inner[names[1]] = key, item
            else:
                inner[names[0]] = item
            if condition is not None:
                keep = self._eval(condition, inner, depth + 1)
                if isinstance(keep, Unknown):
                    return keep
                if not keep:
                    continue
            items.append(self._eval(body, inner, depth + 1))
        return items

    def _template(self, raw: str, scope: dict[str, Any], depth: int) -> Any:
        parts: list[Any] = []
        position = 0
        directive = raw.find("%{")
        while True:
            start = raw.find("${", position)
            if 0 <= directive < position:  # searched again only once passed: one scan of RAW in all
                directive = raw.find("%{", position)
            if directive >= 0 and (start < 0 or directive < start) and (directive == 0 or raw[directive - 1] != "%"):
                return Unknown("a template directive (%{ }) bake evaluates; regaudit does not", raw)
            if start < 0:
                parts.append(raw[position:].replace("%%{", "%{"))
                break
            if start > 0 and raw[start - 1] == "$":  # `$${` is a literal `${`
                parts.append(raw[position:start - 1] + "${")
                position = start + 2
                continue
            end = _interpolation_end(raw, start + 2)
            if end < 0:
                parts.append(raw[position:])
                break
            parts.append(raw[position:start])
            inner = raw[start + 2:end].strip().strip("~").strip()
            parsed = self.parse_part(inner)
            parts.append(parsed if parsed is not None else Unknown(f"the expression ${{{inner}}}", f"${{{inner}}}"))
            position = end + 1
        values = [part if isinstance(part, str) else (part if isinstance(part, Unknown)
                                                      else self._eval(part, scope, depth + 1)) for part in parts]
        for index, value in enumerate(values):
            if isinstance(value, Unknown) and value.shown == "${...}" and not isinstance(parts[index], str):
                values[index] = Unknown(value.reason, "${" + _source_of(parts[index]) + "}")
        text = "".join(shown(v) for v in values)
        if len(text) > MAX_TEXT:
            return Unknown(f"a string longer than {MAX_TEXT} characters", "${...}")
        unknown = [v for v in values if isinstance(v, Unknown)]
        if unknown:
            return Unknown("; ".join(dict.fromkeys(u.reason for u in unknown)), text)
        if any(isinstance(v, (list, dict)) for v in values if not isinstance(v, str)):
            return Unknown("a list or object interpolated into a string", text)
        return text

    def _variable(self, name: str, scope: dict[str, Any], depth: int) -> Any:
        if name in scope:
            return scope[name]
        value = self.variables.get(name)
        if value is None:
            return Unknown(f"unset variable {name} (give it with --set {name}=VALUE)", f"${{{name}}}")
        if isinstance(value, str):
            return value
        if isinstance(value, Bound):
            return value.value
        if name in self.active:
            return Unknown(f"variable {name} refers to itself", f"${{{name}}}")
        self.active.append(name)
        try:
            result = self._eval(value, {}, depth + 1)
        finally:
            self.active.pop()
        return result

    def _call(self, name: str, arguments: list[Any], expand: bool, scope: dict[str, Any], depth: int) -> Any:
        values = [self._eval(item, scope, depth + 1) for item in arguments]
        if expand and values and isinstance(values[-1], list):
            values = values[:-1] + values[-1]
        written = "${...}"  # replaced by the call as written (Evaluator._eval)
        if name in self.functions:
            return self._user_function(name, values, depth)
        if name in _UNKNOWABLE:
            return Unknown(f"{name}() depends on {_UNKNOWABLE[name]}", "${...}")
        if name in _LENIENT:
            try:
                return _LENIENT[name](*values)
            except (TypeError, ValueError, IndexError):
                return Unknown(f"{name} with arguments bake would refuse", written)
        function = _STRICT.get(name)
        if function is None:
            return Unknown(f"the function {name} (bake evaluates it; regaudit does not)", written)
        unknown = _first_unknown(values)
        if unknown is not None:
            return Unknown(unknown.reason, written)
        try:
            result = function(*values)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            return Unknown(f"{name} with arguments bake would refuse", written)
        if isinstance(result, str) and len(result) > MAX_TEXT:
            return Unknown(f"a string longer than {MAX_TEXT} characters", written)
        return result

    def _user_function(self, name: str, values: list[Any], depth: int) -> Any:
        params, variadic, result = self.functions[name]
        if result is None:
            return Unknown(f"function {name} has no result", f"${{{name}(...)}}")
        if len(values) < len(params) or (variadic is None and len(values) > len(params)):
            return Unknown(f"function {name} called with {len(values)} arguments", f"${{{name}(...)}}")
        scope = dict(zip(params, values, strict=False))
        if variadic is not None:
            scope[variadic] = values[len(params):]
        if name in self.active:
            return Unknown(f"function {name} calls itself", f"${{{name}(...)}}")
        self.active.append(name)
        try:
            return self._eval(result, scope, depth + 1)
        finally:
            self.active.pop()


def _interpolation_end(raw: str, start: int) -> int:
    """The `}` closing the interpolation whose content starts at START (quoted strings skipped); -1 if none.
    One forward pass."""
    depth = 0
    position = start
    while position < len(raw):
        ch = raw[position]
        if ch == '"':
            position += 1
            while position < len(raw) and raw[position] != '"':
                position += 2 if raw[position] == "\\" else 1
        elif ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return position
            depth -= 1
        position += 1
    return -1


def _source_of(expr: Any) -> str:
    return str(getattr(expr, "source", "") or "...")
